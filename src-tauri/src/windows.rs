//! The Inspector, Debugger and Playground windows: separate native windows over their own
//! pages.

use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindowBuilder};
use tauri_specta::Event;

use crate::error::IpcResult;
use crate::events::ShowCycle;

/// Opens (or brings forward) the Inspector on one object; one window per object. A window is
/// found by what it shows now (an Inspector can navigate to a parent), not by its label.
pub fn inspector(app: &AppHandle, object_id: &str) -> IpcResult<()> {
    let shows = format!("object={object_id}");
    let showing = app.webview_windows().into_values().find(|w| {
        w.label().starts_with("inspector-")
            && w.url()
                .is_ok_and(|u| u.query().is_some_and(|q| q.contains(&shows)))
    });
    if let Some(window) = showing {
        window.set_focus()?;
        return Ok(());
    }
    let mut label = format!("inspector-{object_id}");
    // Its first window has navigated elsewhere: this one needs a label of its own.
    for n in 2.. {
        if app.get_webview_window(&label).is_none() {
            break;
        }
        label = format!("inspector-{object_id}-{n}");
    }
    let url = WebviewUrl::App(format!("inspector.html?object={object_id}").into());
    WebviewWindowBuilder::new(app, label, url)
        .title("Telos — Inspector")
        .inner_size(560.0, 720.0)
        .min_inner_size(360.0, 320.0)
        .build()?;
    Ok(())
}

/// Opens (or brings forward) the Debugger, showing `cycle` if given.
pub fn debugger(app: &AppHandle, cycle: Option<&str>) -> IpcResult<()> {
    if let Some(window) = app.get_webview_window("debugger") {
        window.set_focus()?;
        if let Some(cycle) = cycle {
            ShowCycle {
                cycle: cycle.to_owned(),
            }
            .emit_to(app, "debugger")?;
        }
        return Ok(());
    }
    let page = match cycle {
        Some(c) => format!("debugger.html?cycle={c}"),
        None => "debugger.html".to_owned(),
    };
    WebviewWindowBuilder::new(app, "debugger", WebviewUrl::App(page.into()))
        .title("Telos — Debugger")
        .inner_size(960.0, 680.0)
        .min_inner_size(560.0, 360.0)
        .build()?;
    Ok(())
}

/// Opens (or brings forward) the Playground; `receiver` is written at its prompt.
pub fn playground(app: &AppHandle, receiver: Option<&str>) -> IpcResult<()> {
    if let Some(window) = app.get_webview_window("playground") {
        window.set_focus()?;
        if let Some(receiver) = receiver {
            crate::events::AddressPlayground {
                receiver: receiver.to_owned(),
            }
            .emit_to(app, "playground")?;
        }
        return Ok(());
    }
    let page = match receiver {
        Some(r) => format!("playground.html?receiver={}", encode(r)),
        None => "playground.html".to_owned(),
    };
    WebviewWindowBuilder::new(app, "playground", WebviewUrl::App(page.into()))
        .title("Telos — Playground")
        .inner_size(720.0, 560.0)
        .min_inner_size(420.0, 320.0)
        .build()?;
    Ok(())
}

/// `text` as a URL query value (every byte but unreserved ones percent-encoded).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
