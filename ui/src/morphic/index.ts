// The morphic module: prototype-based morphs, the world scene graph and its canvas renderer.
export * from "./morph";
export * from "./scene";
export * from "./render";
export * from "./occlusion";
