//! The test VM (`scripts/setup-vm`): Debian 12's kernel under QEMU, whose cgroup v2 has the
//! memory, pids and cpu controllers, for the tests that need them on a host that binds them to
//! cgroup v1 (CI's). A test runs itself there: this same test binary, as root, with this
//! process's environment and working directory, on the host's files seen read-only under a
//! throwaway overlay.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Set in a test's run inside the VM.
pub(crate) const IN_VM: &str = "TELOS_IN_TEST_VM";

/// How long a run in the VM may take: QEMU emulates the CPU here (no usable KVM), several
/// times slower than the host.
const LIMIT: Duration = Duration::from_secs(20 * 60);

/// Whether the cgroup v2 hierarchy here has the controllers a delegated cgroup needs
/// enabled below its root (what systemd does on a host booted with cgroup v2).
pub(crate) fn cgroup2_has_controllers() -> bool {
    let Some(root) = cgroup2_root() else {
        return false;
    };
    let enabled = std::fs::read_to_string(root.join("cgroup.subtree_control")).unwrap_or_default();
    ["memory", "pids", "cpu"]
        .iter()
        .all(|c| enabled.split_whitespace().any(|x| x == *c))
}

/// Where the cgroup v2 hierarchy is mounted, if it is.
pub(crate) fn cgroup2_root() -> Option<PathBuf> {
    std::fs::read_to_string("/proc/self/mounts")
        .ok()?
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(2) == Some(&"cgroup2")).then(|| PathBuf::from(f[1]))
        })
}

/// Runs this test binary's test `name`, alone, in the test VM and returns what it printed.
/// Panics with that and the VM's console when the test failed or the VM did not end in time.
pub(crate) fn run_test(name: &str) -> String {
    let vm = std::env::var_os("TELOS_TEST_VM")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .expect(
            "TELOS_TEST_VM: the test VM's folder (made by scripts/setup-vm; scripts/test sets it)",
        );
    let job = tempfile::tempdir().unwrap();
    let mut script = String::new();
    for (k, v) in std::env::vars_os() {
        let (Some(k), Some(v)) = (k.to_str(), v.to_str()) else {
            continue;
        };
        let plain = k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !k.starts_with(|c: char| c.is_ascii_digit());
        if plain {
            script += &format!("export {k}={}\n", quote(v));
        }
    }
    let exe = std::env::current_exe().unwrap();
    let cwd = std::env::current_dir().unwrap();
    script += &format!(
        "export {IN_VM}=1\ncd {}\nexec {} {} --exact --nocapture --test-threads=1\n",
        quote_path(&cwd),
        quote_path(&exe),
        quote(name)
    );
    std::fs::write(job.path().join("run"), script).unwrap();
    let console = std::fs::File::create(job.path().join("console")).unwrap();
    let mut qemu = Command::new("qemu-system-x86_64")
        .args([
            "-m",
            "4096",
            "-smp",
            "2",
            "-nographic",
            "-no-reboot",
            "-net",
            "none",
        ])
        .arg("-kernel")
        .arg(vm.join("vmlinuz"))
        .arg("-initrd")
        .arg(vm.join("initrd.gz"))
        .args(["-append", "console=ttyS0 quiet panic=-1"])
        .args([
            "-virtfs",
            "local,path=/,mount_tag=host,security_model=passthrough,readonly=on,multidevs=remap",
        ])
        .arg("-virtfs")
        .arg(format!(
            "local,path={},mount_tag=job,security_model=none",
            job.path().display()
        ))
        .stdin(Stdio::null())
        .stdout(console.try_clone().unwrap())
        .stderr(console)
        .spawn()
        .expect("qemu-system-x86_64 (scripts/setup-vm installs it)");
    let began = Instant::now();
    let ended = loop {
        if let Some(status) = qemu.try_wait().unwrap() {
            break Some(status);
        }
        if began.elapsed() > LIMIT {
            let _ = qemu.kill();
            let _ = qemu.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let read = |file: &str| std::fs::read_to_string(job.path().join(file)).unwrap_or_default();
    let (output, status) = (read("output"), read("status"));
    assert!(
        ended.is_some() && status.trim() == "0",
        "{name} in the test VM {} after {:.0} s (exit status {:?}):\n{output}\nthe VM's console:\n{}",
        if ended.is_some() {
            "failed"
        } else {
            "did not end"
        },
        began.elapsed().as_secs_f64(),
        status.trim(),
        read("console")
    );
    eprintln!(
        "{name} passed in the test VM in {:.0} s",
        began.elapsed().as_secs_f64()
    );
    output
}

/// `text` as one word of sh.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn quote_path(path: &Path) -> String {
    quote(&path.to_string_lossy())
}
