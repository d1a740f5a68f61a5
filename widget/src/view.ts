// The launcher and the chat window, in a shadow root so the clinic's page styles and
// the widget's cannot touch each other. All text goes in as text nodes (renderText).

import { textOn, type Settings } from "./config";
import {
  Connection,
  type BotMessage,
  type ConnectionState,
  type HistoryItem,
  type Outgoing,
  type QuickReply,
} from "./connection";
import { ICON_CHAT, ICON_CLOSE, ICON_SEND, el, icon } from "./dom";
import { renderText } from "./text";
import css from "./styles.css";

type Sender = "user" | "bot" | "staff";

interface Handoff {
  status?: unknown;
  reply_expected?: unknown;
}

const STAFF_STATES = new Set(["waiting_for_staff", "with_staff"]);
const RETURNED_STATES = new Set(["returned"]);
const MAX_LENGTH = 2000;

export class ChatWidget {
  private readonly connection: Connection;
  private readonly launcher: HTMLButtonElement;
  private readonly panel: HTMLElement;
  private readonly subtitle: HTMLElement;
  private readonly banner: HTMLElement;
  private readonly confirmBox: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly log: HTMLElement;
  private readonly typing: HTMLElement;
  private readonly replies: HTMLElement;
  private readonly input: HTMLTextAreaElement;
  private readonly announcer: HTMLElement;
  private readonly urgentAnnouncer: HTMLElement;
  private readonly pendingItems = new Map<string, HTMLLIElement>();
  // What each live region has said since the patient's last message: the replies of one
  // turn are read together, so a later reply (a closing safety line after an emergency
  // reply) never replaces an earlier one before it is heard.
  private readonly spoken = new Map<HTMLElement, string[]>();
  private readonly badge: HTMLElement;
  private readonly launcherLabel: string;
  private unread = 0;
  private started = false;

  constructor(root: ShadowRoot, settings: Settings) {
    const style = el("style");
    style.textContent = css;
    const wrapper = el("div", { class: "ccw", "data-position": settings.position });
    wrapper.style.setProperty("--ccw-color", settings.color);
    wrapper.style.setProperty("--ccw-on-color", textOn(settings.color));

    this.launcherLabel = `Chat with us: ${settings.clinicName}`;
    this.badge = el("span", { class: "badge", "aria-hidden": "true" });
    this.badge.hidden = true;
    this.launcher = el(
      "button",
      {
        type: "button",
        class: "launcher",
        "aria-expanded": "false",
        "aria-controls": "ccw-panel",
        "aria-label": this.launcherLabel,
      },
      icon(ICON_CHAT),
      el("span", { class: "launcher-text" }, "Chat with us"),
      this.badge,
    );

    this.subtitle = el("p", { class: "subtitle", id: "ccw-subtitle" }, "Automated assistant");
    const restart = el("button", { type: "button", class: "restart" }, "Start over");
    const close = el(
      "button",
      { type: "button", class: "close", "aria-label": "Close chat" },
      icon(ICON_CLOSE),
    );
    const header = el(
      "header",
      {},
      el("div", { class: "titles" }, el("h2", { id: "ccw-title" }, settings.clinicName), this.subtitle),
      restart,
      close,
    );

    this.banner = el("div", { class: "banner", role: "status" });
    this.banner.hidden = true;

    const confirmYes = el("button", { type: "button", class: "primary" }, "Start a new conversation");
    const confirmNo = el("button", { type: "button" }, "Keep this one");
    this.confirmBox = el(
      "div",
      { class: "confirm", role: "group", "aria-labelledby": "ccw-confirm-text" },
      el("p", { id: "ccw-confirm-text" }, "Start a new conversation? This one will no longer show here."),
      confirmYes,
      confirmNo,
    );
    this.confirmBox.hidden = true;

    this.list = el("ol", { class: "messages", "aria-label": "Conversation" });
    this.typing = el(
      "div",
      { class: "typing", "aria-hidden": "true" },
      el("span"),
      el("span"),
      el("span"),
    );
    this.typing.hidden = true;
    this.log = el(
      "div",
      { class: "log", tabindex: "0", role: "region", "aria-label": "Messages" },
      el("p", { class: "greeting" }, settings.greeting),
      this.list,
      this.typing,
    );

    this.replies = el("div", { class: "replies", role: "group", "aria-label": "Suggested replies" });
    this.input = el("textarea", {
      id: "ccw-input",
      rows: "1",
      maxlength: String(MAX_LENGTH),
      placeholder: "Type your question…",
      autocomplete: "off",
      enterkeyhint: "send",
    });
    const form = el(
      "form",
      { class: "composer" },
      el("label", { for: "ccw-input", class: "sr-only" }, "Type your message"),
      this.input,
      el("button", { type: "submit", class: "send", "aria-label": "Send" }, icon(ICON_SEND)),
    );
    const note = el(
      "p",
      { class: "note" },
      "Automated assistant, not for emergencies. In an emergency call 911.",
    );
    this.announcer = el("div", { class: "sr-only", "aria-live": "polite", "aria-atomic": "true" });
    this.urgentAnnouncer = el("div", { class: "sr-only", "aria-live": "assertive", "aria-atomic": "true" });

    this.panel = el(
      "section",
      {
        id: "ccw-panel",
        class: "panel",
        role: "dialog",
        "aria-labelledby": "ccw-title",
        "aria-describedby": "ccw-subtitle",
      },
      header,
      this.banner,
      this.confirmBox,
      this.log,
      this.replies,
      form,
      note,
      this.announcer,
      this.urgentAnnouncer,
    );
    this.panel.hidden = true;
    wrapper.append(this.launcher, this.panel);
    root.append(style, wrapper);

    this.connection = new Connection(settings, {
      state: (state) => this.showState(state),
      history: (items, pending) => this.showHistory(items, pending),
      bot: (message) => this.addBot(message, true),
      sending: (id) => this.pendingItems.get(id)?.classList.remove("queued"),
      sent: (id) => this.markSent(id),
      failed: (item, reason) => this.markFailed(item, reason),
      waiting: (waiting) => {
        this.typing.hidden = !waiting;
        if (waiting) this.scrollToEnd();
      },
    });

    this.launcher.addEventListener("click", () => (this.panel.hidden ? this.open() : this.close()));
    close.addEventListener("click", () => this.close());
    restart.addEventListener("click", () => {
      this.confirmBox.hidden = false;
      confirmNo.focus();
    });
    confirmNo.addEventListener("click", () => {
      this.confirmBox.hidden = true;
      restart.focus();
    });
    confirmYes.addEventListener("click", () => {
      this.confirmBox.hidden = true;
      this.list.replaceChildren();
      this.pendingItems.clear();
      this.showReplies([]);
      this.setHandoff(null);
      this.connection.startOver();
      this.input.focus();
    });
    this.panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        this.close();
      }
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener("input", () => this.fitInput());
    this.followViewport();
    // messages typed earlier that are still waiting for the connection
    this.connection.pending.forEach((item) => this.addPending(item));

    // A conversation already under way (this page or another of the site) reopens.
    if (settings.openOnLoad || window.sessionStorage.getItem("clinic-chat-open") === "1") {
      this.open(false);
    }
  }

  open(focus = true): void {
    this.panel.hidden = false;
    this.setUnread(0);
    this.launcher.setAttribute("aria-expanded", "true");
    this.remember(true);
    if (!this.started) {
      this.started = true;
      this.connection.connect();
    }
    if (focus) this.input.focus();
    this.scrollToEnd();
  }

  close(): void {
    this.panel.hidden = true;
    this.launcher.setAttribute("aria-expanded", "false");
    this.remember(false);
    this.launcher.focus();
  }

  private remember(open: boolean): void {
    try {
      window.sessionStorage.setItem("clinic-chat-open", open ? "1" : "0");
    } catch {
      /* not remembered */
    }
  }

  private submit(): void {
    const text = this.input.value.trim();
    if (!text) return;
    this.input.value = "";
    this.fitInput();
    this.send(text, text);
  }

  private send(message: string, shown: string): void {
    this.showReplies([]);
    const item = this.connection.send(message, shown);
    this.addPending(item);
  }

  // --- messages ------------------------------------------------------------------
  private bubble(sender: Sender, text: string, urgent = false, staffName = ""): HTMLLIElement {
    const who = sender === "user" ? "You" : sender === "staff" ? "Clinic staff" : "Assistant";
    const item = el("li", { class: `msg ${sender}${urgent ? " urgent" : ""}` });
    if (sender === "staff") {
      item.append(el("span", { class: "staff-label" }, staffName ? `Clinic staff · ${staffName}` : "Clinic staff"));
    } else {
      item.append(el("span", { class: "sr-only" }, `${who}: `));
    }
    if (urgent) item.append(el("strong", { class: "urgent-label" }, "Urgent"));
    const body = el("div", { class: "text" });
    body.append(renderText(text));
    item.append(body);
    // replies go above messages that are still waiting to be sent
    this.list.insertBefore(item, sender !== "user" ? this.list.querySelector(".queued") : null);
    return item;
  }

  private addPending(item: Outgoing): void {
    this.spoken.clear(); // a new turn: its replies are announced afresh
    const li = this.bubble("user", item.shown);
    li.classList.add("pending", "queued");
    li.append(el("span", { class: "status" }, "Sending…"));
    this.pendingItems.set(item.id, li);
    this.scrollToEnd();
  }

  private markSent(id: string): void {
    const li = this.pendingItems.get(id);
    if (!li) return;
    li.classList.remove("pending");
    li.querySelector(".status")?.remove();
    this.pendingItems.delete(id);
  }

  private markFailed(item: Outgoing, reason: string): void {
    const li = this.pendingItems.get(item.id);
    this.pendingItems.delete(item.id);
    if (!li) return;
    li.classList.remove("pending");
    li.classList.add("failed");
    const retry = el("button", { type: "button", class: "retry" }, "Send again");
    retry.addEventListener("click", () => {
      li.remove();
      this.send(item.message, item.shown);
    });
    li.querySelector(".status")?.replaceWith(
      el("span", { class: "status" }, `Not sent: ${reason}. `, retry),
    );
    this.announce(`Your message was not sent: ${reason}.`, false);
  }

  private addBot(message: BotMessage, live: boolean): void {
    const custom = message.custom ?? {};
    const urgent = custom.urgent === true;
    const staff = custom.from_staff as { name?: unknown } | undefined;
    if (typeof message.text === "string" && message.text) {
      const name = staff && typeof staff.name === "string" ? staff.name : "";
      this.bubble(staff ? "staff" : "bot", message.text, urgent, name);
      if (live) this.announce(staff ? `Clinic staff: ${message.text}` : message.text, urgent);
    }
    if (custom.handoff && typeof custom.handoff === "object") {
      const handoff = custom.handoff as Handoff;
      this.setHandoff(RETURNED_STATES.has(String(handoff.status)) ? null : handoff);
    }
    if (live) this.showReplies(message.quick_replies ?? []);
    if (live && this.panel.hidden && message.text) this.setUnread(this.unread + 1);
    this.scrollToEnd();
  }

  /** A message that arrives while the window is closed (e.g. a staff reply) shows as
   * a count on the launcher, which screen readers read in its name. */
  private setUnread(count: number): void {
    this.unread = count;
    this.badge.textContent = String(count);
    this.badge.hidden = count === 0;
    this.launcher.setAttribute(
      "aria-label",
      count ? `${this.launcherLabel} (${count} new ${count === 1 ? "message" : "messages"})` : this.launcherLabel,
    );
  }

  private showHistory(items: HistoryItem[], pending: Outgoing[]): void {
    this.list.replaceChildren();
    this.pendingItems.clear();
    this.setHandoff(null);
    let lastReplies: QuickReply[] = [];
    for (const item of items) {
      if (item.sender === "user") {
        if (item.text) this.bubble("user", item.text);
        lastReplies = [];
      } else {
        this.addBot(item, false);
        lastReplies = item.quick_replies ?? [];
      }
    }
    // the last bot message's buttons stay usable until the patient answers
    this.showReplies(pending.length ? [] : lastReplies);
    pending.forEach((item) => this.addPending(item));
  }

  private showReplies(replies: QuickReply[]): void {
    this.replies.replaceChildren(
      ...replies.map((reply) => {
        const button = el("button", { type: "button" }, reply.title);
        button.addEventListener("click", () => {
          this.send(reply.payload, reply.title);
          this.input.focus();
        });
        return button;
      }),
    );
    this.replies.hidden = replies.length === 0;
  }

  private setHandoff(handoff: Handoff | null): void {
    const withStaff = handoff !== null && STAFF_STATES.has(String(handoff.status));
    this.panel.classList.toggle("staff", withStaff);
    if (!withStaff) {
      this.subtitle.textContent = "Automated assistant";
      return;
    }
    if (handoff.status === "with_staff") {
      this.subtitle.textContent = "You're talking with clinic staff";
      return;
    }
    const when = typeof handoff.reply_expected === "string" ? handoff.reply_expected : "soon";
    this.subtitle.textContent =
      when === "soon"
        ? "Handed to clinic staff: they will reply soon"
        : `Handed to clinic staff: they will reply from ${when}`;
  }

  private announce(text: string, urgent: boolean): void {
    const region = urgent ? this.urgentAnnouncer : this.announcer;
    const said = [...(this.spoken.get(region) ?? []), `${urgent ? "Urgent. " : ""}${text}`];
    this.spoken.set(region, said);
    region.textContent = "";
    // a fresh text node makes screen readers read the same words again
    window.setTimeout(() => (region.textContent = said.join(" ")), 50);
  }

  private showState(state: ConnectionState): void {
    const message =
      state === "reconnecting"
        ? "Connection lost. Reconnecting… Messages you send now will go when it is back."
        : "";
    this.banner.textContent = message;
    this.banner.hidden = message === "";
    this.panel.classList.toggle("offline", state === "reconnecting");
  }

  // --- layout --------------------------------------------------------------------
  private scrollToEnd(): void {
    window.requestAnimationFrame(() => (this.log.scrollTop = this.log.scrollHeight));
  }

  private fitInput(): void {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, 120)}px`;
  }

  /** On phones the window follows the visible viewport, so the on-screen keyboard
   * never covers the input. */
  private followViewport(): void {
    const viewport = window.visualViewport;
    if (!viewport) return;
    const update = () => {
      this.panel.style.setProperty("--ccw-vh", `${viewport.height}px`);
      this.panel.style.setProperty("--ccw-top", `${viewport.offsetTop}px`);
    };
    viewport.addEventListener("resize", update);
    viewport.addEventListener("scroll", update);
    update();
  }
}
