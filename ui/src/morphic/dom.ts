// The sprite cache's offscreen canvases, made with the DOM (the app's pages only; the rest of
// the morphic module stays DOM-free).

import { SpriteCache } from "./render";

export function domSpriteCache(): SpriteCache {
  return new SpriteCache((width, height) => {
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext("2d");
    return ctx ? { image: canvas, ctx } : null;
  });
}
