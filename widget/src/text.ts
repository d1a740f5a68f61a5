// Message text into DOM nodes. Nothing is parsed as HTML: text becomes text nodes
// (line breaks are kept by CSS white-space), and only http(s) addresses become links,
// which open in a new tab without access to this page.

const URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"']+/gi;
const TRAILING_PUNCTUATION = /[.,;:!?)\]]+$/;

export function safeHref(candidate: string): string | null {
  try {
    const url = new URL(candidate);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

export function renderText(text: string): DocumentFragment {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(URL_IN_TEXT)) {
    const start = match.index ?? 0;
    const raw = match[0];
    const trimmed = raw.replace(TRAILING_PUNCTUATION, "");
    const href = safeHref(trimmed);
    if (!href) continue;
    fragment.append(text.slice(last, start));
    const link = document.createElement("a");
    link.href = href;
    link.textContent = trimmed;
    link.target = "_blank";
    link.rel = "noopener noreferrer nofollow";
    fragment.append(link);
    last = start + trimmed.length;
  }
  fragment.append(text.slice(last));
  return fragment;
}
