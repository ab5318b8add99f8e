//! Hello world in a Tauri window, built the way `telos-desktop` is (same Tauri, same profile,
//! UI embedded): the baseline of the desktop cold-start benchmark. Benchmark tooling.

fn main() {
    tauri::Builder::default()
        .run(tauri::generate_context!())
        .expect("hello-tauri runs");
}
