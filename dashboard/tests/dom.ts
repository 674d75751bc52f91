// A place in the document for the tests that render views.
import { render } from "preact";

/** A fresh <div> in the document to render into. */
export function mountRoot(): HTMLElement {
  const root = document.createElement("div");
  document.body.append(root);
  return root;
}

/** Unmounts what was rendered into `root` (its effects' clean-ups run) and removes it. */
export function unmountRoot(root: HTMLElement): void {
  render(null, root);
  root.remove();
}
