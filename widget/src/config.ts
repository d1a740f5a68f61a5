// The widget's settings: from the script tag's data-* attributes, or from
// window.ClinicChat.init({...}). Every setting has a default.

export type Position = "right" | "left";

export interface Settings {
  /** The Rasa server (its socket.io channel), e.g. "https://chat.example-clinic.ca". */
  serverUrl: string;
  /** socket.io path on that server. */
  socketPath: string;
  clinicName: string;
  /** Main colour (launcher, header, patient's messages), any CSS hex colour. */
  color: string;
  /** A short line shown at the top of the chat window. */
  greeting: string;
  position: Position;
  /** Open the chat window when the page loads. */
  openOnLoad: boolean;
}

export const DEFAULTS: Settings = {
  serverUrl: "",
  socketPath: "/socket.io",
  clinicName: "GP Pain & Physiotherapy",
  color: "#0b5f73",
  greeting: "Questions about dry needling or booking? Ask here.",
  position: "right",
  openOnLoad: false,
};

const HEX = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i;

export function readSettings(
  given: Partial<Record<keyof Settings, unknown>>,
  pageOrigin: string,
): Settings {
  const text = (value: unknown, fallback: string): string =>
    typeof value === "string" && value.trim() ? value.trim() : fallback;
  const color = text(given.color, DEFAULTS.color);
  const open = given.openOnLoad;
  return {
    serverUrl: text(given.serverUrl, pageOrigin).replace(/\/+$/, ""),
    socketPath: text(given.socketPath, DEFAULTS.socketPath),
    clinicName: text(given.clinicName, DEFAULTS.clinicName),
    color: HEX.test(color) ? color : DEFAULTS.color,
    greeting: text(given.greeting, DEFAULTS.greeting),
    position: given.position === "left" ? "left" : "right",
    openOnLoad: open === true || open === "true",
  };
}

/** Settings from a script tag: data-server-url, data-clinic-name, data-color, ... */
export function settingsFromScript(script: HTMLScriptElement | null): Partial<Settings> {
  if (!script) return {};
  const d = script.dataset;
  return {
    serverUrl: d.serverUrl,
    socketPath: d.socketPath,
    clinicName: d.clinicName,
    color: d.color,
    greeting: d.greeting,
    position: d.position as Position | undefined,
    openOnLoad: d.openOnLoad === "true",
  };
}

// --- colour contrast (WCAG 2.x) -------------------------------------------------
function channels(hex: string): [number, number, number] {
  let h = hex.slice(1);
  if (h.length === 3) h = h.replace(/./g, (c) => c + c);
  return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16) / 255) as [number, number, number];
}

function luminance(hex: string): number {
  const [r, g, b] = channels(hex).map((c) =>
    c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4),
  );
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** Text colour for the clinic's colour: white or near-black, whichever reads better,
 * so any colour a clinic picks keeps AA contrast. */
export function textOn(background: string): string {
  return contrast(background, "#ffffff") >= contrast(background, "#1a1a1a") ? "#ffffff" : "#1a1a1a";
}
