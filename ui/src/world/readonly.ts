// The banner the world window shows while the image is read-only (a full disk, a commit whose
// outcome is unknown): what happened and what to do, until it writes again.

import { h } from "../common/dom";

/** The banner's text for `reason`. */
export function readOnlyText(reason: string): string {
  return `Read-only — nothing can be saved: ${reason}`;
}

/** Shows the banner with `reason`, or removes it when `reason` is null. */
export function showReadOnly(reason: string | null): void {
  const old = document.getElementById("read-only");
  if (reason === null) {
    old?.remove();
    return;
  }
  const banner = old ?? h("div", { class: "read-only", attrs: { id: "read-only", role: "alert" }, testid: "read-only" });
  banner.textContent = readOnlyText(reason);
  // Under the toolbar, pushing the world down: nothing is covered.
  if (!old) {
    const toolbar = document.querySelector(".toolbar");
    if (toolbar) toolbar.after(banner);
    else document.body.prepend(banner);
  }
}
