//! The cold-start baseline is what the benchmarks time: its binary (built by the test build
//! because of this test, so `scripts/build` makes it) embeds a page that marks its first
//! painted frame the way the Telos world does, which is what the benchmarks wait for.

#[test]
fn the_baseline_is_built_and_its_page_marks_its_first_frame() {
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_hello-tauri"));
    assert!(exe.is_file(), "{} was built", exe.display());
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dist");
    let page = std::fs::read_to_string(dist.join("index.html")).unwrap();
    assert!(
        page.contains(r#"<script src="ready.js"></script>"#),
        "{page}"
    );
    let ready = std::fs::read_to_string(dist.join("ready.js")).unwrap();
    assert!(
        ready.contains("requestAnimationFrame") && ready.contains(r#"dataset.ready = "true""#),
        "{ready}"
    );
}
