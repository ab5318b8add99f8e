// The desktop UI: four pages (the world, the Inspector, the Debugger, the Playground) built into dist/,
// which the Tauri shell serves. `npm run dev` serves them on a fixed port for `tauri dev`.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const page = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export default defineConfig({
  root: "ui",
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  build: {
    outDir: "../dist",
    emptyOutDir: true,
    target: "safari16",
    rollupOptions: {
      input: {
        world: page("ui/index.html"),
        inspector: page("ui/inspector.html"),
        debugger: page("ui/debugger.html"),
        playground: page("ui/playground.html"),
        // The desktop benchmark's page (scripts/bench-desktop); nothing in the app links to it.
        bench: page("ui/bench.html"),
      },
    },
  },
  test: {
    root: ".",
    include: ["ui/src/**/*.test.ts"],
  },
});
