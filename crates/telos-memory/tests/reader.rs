//! Untrusted documents are parsed in the reader process (`telos-reader`, built beside this
//! test): a Flate bomb, 300,000 nested `<div>`s and a PDF of 300,000 nested arrays are each
//! that file's error, and this process — the app's side — stays alive with its peak RSS
//! bounded. The reader confines itself: no sockets, a bounded address space.

use std::io::Write;
use std::path::Path;

use telos_memory::read::Format;
use telos_memory::reader::parse_apart;

/// This process's peak resident set, in MiB.
fn peak_rss_mib() -> u64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct it is given.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) }, 0);
    usage.ru_maxrss as u64 / 1024
}

/// A PDF of `objects` (object n is `objects[n - 1]`; 1 is the catalog), with its xref table.
fn pdf(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend(body);
        out.extend(b"\nendobj\n");
    }
    let xref = out.len();
    let size = objects.len() + 1;
    out.extend(format!("xref\n0 {size}\n0000000000 65535 f \n").as_bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend(
        format!("trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    out
}

/// A one-page PDF whose content stream is `content` (already Flate-compressed), with
/// `resources`, and whose catalog also links object 5, `extra`.
fn one_page_pdf(content: &[u8], resources: &str, extra: &[u8]) -> Vec<u8> {
    let mut stream = format!(
        "<< /Length {} /Filter /FlateDecode >>\nstream\n",
        content.len()
    )
    .into_bytes();
    stream.extend(content);
    stream.extend(b"\nendstream");
    pdf(&[
        b"<< /Type /Catalog /Pages 2 0 R /Extra 5 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources {resources} >>"
        )
        .into_bytes(),
        stream,
        extra.to_vec(),
    ])
}

fn deflate(parts: impl Iterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    for part in parts {
        z.write_all(&part).unwrap();
    }
    z.finish().unwrap()
}

#[tokio::test]
async fn a_good_document_reads_as_it_does_in_process() {
    let text = b"# Tides\n\nHigh tide at the harbour comes at 06:12.\n".to_vec();
    let apart = parse_apart(Path::new("tides.md"), text.clone())
        .await
        .unwrap();
    let here = telos_memory::read::parse(Path::new("tides.md"), text).unwrap();
    assert_eq!(apart.format, Format::Markdown);
    assert_eq!(
        (apart.text, apart.hash, apart.size),
        (here.text, here.hash, here.size)
    );

    let page = deflate(std::iter::once(
        b"BT /F1 12 Tf 72 720 Td (The ferry leaves at nine.) Tj ET".to_vec(),
    ));
    let font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";
    let bytes = one_page_pdf(&page, "<< /Font << /F1 5 0 R >> >>", font);
    let apart = parse_apart(Path::new("ferry.pdf"), bytes.clone())
        .await
        .unwrap();
    let here = telos_memory::read::parse(Path::new("ferry.pdf"), bytes).unwrap();
    assert_eq!(apart.format, Format::Pdf);
    assert!(
        apart.text.contains("The ferry leaves at nine."),
        "{:?}",
        apart.text
    );
    assert_eq!((apart.text, apart.pages), (here.text, here.pages));

    let err = parse_apart(
        Path::new("refused.txt"),
        vec![
            0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d,
        ],
    )
    .await
    .unwrap_err()
    .to_string();
    assert_eq!(err, "unsupported: refused.txt (detected image/png)");
    let err = parse_apart(Path::new("blank.txt"), b" \n".to_vec())
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(err, "blank.txt is empty");
}

#[tokio::test]
async fn bombs_and_deep_nesting_are_each_an_error_and_the_app_side_stays_small() {
    let before = peak_rss_mib();

    // A Flate bomb: 1.5 MiB that inflate to 1.5 GiB of white space.
    let content = deflate(std::iter::repeat_n(vec![b' '; 1 << 20], 1536));
    let bomb = one_page_pdf(&content, "<< >>", b"<< >>");
    assert!(
        bomb.len() < 16 << 20,
        "the bomb is small: {} bytes",
        bomb.len()
    );

    let divs = format!(
        "<!DOCTYPE html><html><body>{}deep{}</body></html>",
        "<div>".repeat(300_000),
        "</div>".repeat(300_000)
    );
    let arrays = one_page_pdf(
        &deflate(std::iter::once(b"BT ET".to_vec())),
        "<< >>",
        format!("{}{}", "[".repeat(300_000), "]".repeat(300_000)).as_bytes(),
    );

    for (name, bytes) in [
        ("bomb.pdf", bomb),
        ("deep.html", divs.into_bytes()),
        ("arrays.pdf", arrays),
    ] {
        let err = parse_apart(Path::new(name), bytes)
            .await
            .expect_err(name)
            .to_string();
        assert!(err.contains(name), "{name}: {err}");
        eprintln!("{name}: {err}");
    }
    let grown = peak_rss_mib().saturating_sub(before);
    assert!(
        grown < 128,
        "the app's side grew by {grown} MiB reading the bombs"
    );
}

#[test]
fn the_reader_confines_itself_no_sockets_and_a_bounded_address_space() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_telos-reader"))
        .arg("--confinement")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8(out.stdout).unwrap();
    assert!(
        said.contains("socket: refused (Permission denied"),
        "{said}"
    );
    assert!(said.contains("memory: refused"), "{said}");
    assert!(said.contains("files: refused"), "{said}");
}
