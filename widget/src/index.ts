// One script tag adds the chat to a page:
//
//   <script src="https://…/clinic-chat.js" data-server-url="https://chat.example-clinic.ca"
//           data-clinic-name="GP Pain & Physiotherapy" data-color="#0b5f73"
//           data-greeting="Questions about dry needling? Ask here." data-position="right"
//           defer></script>
//
// With data-manual="true" nothing starts until the page calls
// window.ClinicChat.init({ serverUrl, clinicName, color, greeting, position }).

import { readSettings, settingsFromScript, type Settings } from "./config";
import { ChatWidget } from "./view";

declare global {
  interface Window {
    ClinicChat?: {
      init(settings?: Partial<Settings>): ChatWidget;
      open(): void;
      close(): void;
    };
  }
}

const script = document.currentScript as HTMLScriptElement | null;
let widget: ChatWidget | null = null;

function init(given: Partial<Settings> = {}): ChatWidget {
  if (widget) return widget;
  const settings = readSettings({ ...settingsFromScript(script), ...given }, window.location.origin);
  const host = document.createElement("div");
  host.id = "clinic-chat-widget";
  document.body.append(host);
  widget = new ChatWidget(host.attachShadow({ mode: "open" }), settings);
  return widget;
}

window.ClinicChat = {
  init,
  open: () => init().open(),
  close: () => widget?.close(),
};

if (script?.dataset.manual !== "true") {
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => init(), { once: true });
  } else {
    init();
  }
}
