//! An OCI image layout as the rootfs's source: layers applied in order, a hostile one refused.

use super::*;

/// Writes `bytes` as a blob of the layout at `dir`; its descriptor.
fn blob(dir: &Path, media: &str, bytes: &[u8]) -> serde_json::Value {
    use sha2::Digest;
    let digest = format!("{:x}", sha2::Sha256::digest(bytes));
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::write(blobs.join(&digest), bytes).unwrap();
    serde_json::json!({"mediaType": media, "digest": format!("sha256:{digest}"), "size": bytes.len()})
}

/// An OCI image layout at `dir` whose layers are the tar files `layers`, in order.
fn oci_layout(dir: &Path, layers: &[Vec<u8>]) {
    let config = blob(
        dir,
        "application/vnd.oci.image.config.v1+json",
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
    );
    let layers: Vec<_> = layers
        .iter()
        .map(|l| blob(dir, "application/vnd.oci.image.layer.v1.tar", l))
        .collect();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config,
        "layers": layers,
    });
    let m = blob(
        dir,
        "application/vnd.oci.image.manifest.v1+json",
        manifest.to_string().as_bytes(),
    );
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [m]});
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

/// A tar of what `tar` makes of `args` run in `cwd`.
fn tar(cwd: &Path, args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new("tar")
        .current_dir(cwd)
        .args(["--numeric-owner", "-cf", "-"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn build_rootfs(args: &[&str]) -> std::process::Output {
    std::process::Command::new("bash")
        .arg(telos_tests::package_dir().join("../scripts/build-rootfs"))
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oci_image_layout_is_an_alternative_rootfs_and_a_hostile_one_is_refused() {
    let _one = SERIAL.lock().await;
    let sb = sandbox();
    let work = tempfile::tempdir().unwrap();
    // Layer 1: the whole Debian rootfs. Layer 2: a file added, perl whited out.
    let base = tar(&sb.rootfs, &["."]);
    let extra = work.path().join("extra");
    std::fs::create_dir_all(extra.join("etc")).unwrap();
    std::fs::create_dir_all(extra.join("usr/bin")).unwrap();
    std::fs::write(extra.join("etc/oci-marker"), "from the image").unwrap();
    std::fs::write(extra.join("usr/bin/.wh.perl"), "").unwrap();
    let top = tar(&extra, &["etc/oci-marker", "usr/bin/.wh.perl"]);
    let layout = work.path().join("layout");
    oci_layout(&layout, &[base, top]);
    let dest = work.path().join("out");
    let out = build_rootfs(&[
        "--oci",
        layout.to_str().unwrap(),
        "--dest",
        dest.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rootfs = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(Path::new(&rootfs), dest.join("rootfs"));
    assert!(
        std::fs::read_to_string(dest.join("source.txt"))
            .unwrap()
            .starts_with("oci ")
    );
    let mut from_image = sb.clone();
    from_image.rootfs = rootfs.into();
    let o = from_image
        .run(&py(
            "import os\nprint(open('/etc/oci-marker').read(), os.path.exists('/usr/bin/perl'))",
        ))
        .await
        .unwrap();
    assert_eq!(o.stdout, "from the image False\n", "{o:?}");

    // A blob that is not what its digest says.
    let manifest_dir = layout.join("blobs/sha256");
    let tampered = std::fs::read_dir(&manifest_dir)
        .unwrap()
        .flatten()
        .max_by_key(|e| e.metadata().unwrap().len())
        .unwrap()
        .path();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&tampered)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"x"))
        .unwrap();
    let out = build_rootfs(&[
        "--oci",
        layout.to_str().unwrap(),
        "--dest",
        work.path().join("bad").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not match its digest"));

    // A layer that links out of the root, then writes and whites out through the link: refused,
    // and the host's folder is untouched.
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("keep"), "host file").unwrap();
    let evil = work.path().join("evil");
    std::fs::create_dir_all(&evil).unwrap();
    std::os::unix::fs::symlink(host.path(), evil.join("escape")).unwrap();
    let link = tar(&evil, &["escape"]);
    let through = work.path().join("through");
    std::fs::create_dir_all(through.join("escape")).unwrap();
    std::fs::write(through.join("escape/.wh.keep"), "").unwrap();
    std::fs::write(through.join("escape/planted"), "x").unwrap();
    let write = tar(&through, &["escape/.wh.keep", "escape/planted"]);
    let hostile = work.path().join("hostile");
    oci_layout(&hostile, &[link, write]);
    let out = build_rootfs(&[
        "--oci",
        hostile.to_str().unwrap(),
        "--dest",
        work.path().join("h").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("reaches out of the root"), "{err}");
    assert_eq!(
        std::fs::read_to_string(host.path().join("keep")).unwrap(),
        "host file"
    );
    assert!(!host.path().join("planted").exists());
}
