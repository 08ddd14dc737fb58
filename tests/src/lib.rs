//! The harness for Ventanilla's integration and end-to-end tests: it starts
//! the real parts (an X server, tauri-driver with WebKitWebDriver, the app)
//! and stops them cleanly, whatever happens in the test.
#![allow(clippy::print_stderr)] // progress lines for whoever reads the test log

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

pub mod pcsc;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A child process stopped with SIGTERM (never SIGKILL first: tauri-driver
/// only stops its WebKitWebDriver on a catchable signal) when dropped.
pub struct Managed {
    name: &'static str,
    child: Child,
}

impl Managed {
    pub fn spawn(name: &'static str, command: &mut Command) -> Result<Managed, BoxError> {
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        Ok(Managed { name, child })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then wait up to 10 s before giving up with SIGKILL.
    pub fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("harness: {} did not stop on SIGTERM; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Managed {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A private X server (Xvfb) on a display it picks itself.
pub struct Xvfb {
    pub display: String,
    _process: Managed,
}

impl Xvfb {
    pub fn start(width: u32, height: u32) -> Result<Xvfb, BoxError> {
        let mut command = Command::new("Xvfb");
        command
            .args(["-displayfd", "1", "-nolisten", "tcp", "-screen", "0"])
            .arg(format!("{width}x{height}x24"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut process = Managed::spawn("Xvfb", &mut command)?;
        let stdout = process.child.stdout.take().ok_or("Xvfb gave no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let number = line.trim();
        if number.is_empty() {
            return Err("Xvfb did not report its display".into());
        }
        Ok(Xvfb {
            display: format!(":{number}"),
            _process: process,
        })
    }
}

/// A TCP port nobody listens on right now.
pub fn free_port() -> Result<u16, BoxError> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until something accepts connections on the port.
pub fn wait_for_port(port: u16, timeout: Duration) -> Result<(), BoxError> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("nothing listened on port {port} within {timeout:?}").into())
}

/// tauri-driver (which runs WebKitWebDriver) on free ports.
pub struct TauriDriver {
    pub port: u16,
    _process: Managed,
}

impl TauriDriver {
    pub fn start(display: &str, envs: &[(&str, &Path)]) -> Result<TauriDriver, BoxError> {
        let port = free_port()?;
        let native_port = free_port()?;
        let mut command = Command::new(tool("tauri-driver"));
        command
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            .env("DISPLAY", display)
            // No accessibility bus under Xvfb: keep GTK from looking for it.
            .env("NO_AT_BRIDGE", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (k, v) in envs {
            command.env(k, v);
        }
        let process = Managed::spawn("tauri-driver", &mut command)?;
        wait_for_port(port, Duration::from_secs(20))?;
        Ok(TauriDriver {
            port,
            _process: process,
        })
    }
}

/// A tool from PATH, or from the project's tools directory.
pub fn tool(name: &str) -> PathBuf {
    if let Ok(dir) = std::env::var("VENTANILLA_TOOLS") {
        let p = Path::new(&dir).join("bin").join(name);
        if p.exists() {
            return p;
        }
    }
    if let Some(home) = std::env::var_os("HOME") {
        let p = Path::new(&home)
            .join(".cache/ventanilla/tools/bin")
            .join(name);
        if p.exists() {
            return p;
        }
    }
    PathBuf::from(name)
}

/// The app binary built with the custom protocol (see scripts/test.sh).
pub fn app_binary() -> Result<PathBuf, BoxError> {
    let path = std::env::var_os("VENTANILLA_APP_BIN")
        .map(PathBuf::from)
        .ok_or("VENTANILLA_APP_BIN is not set: run the suite with `make test`, which builds the app first")?;
    if !path.exists() {
        return Err(format!("VENTANILLA_APP_BIN={} does not exist", path.display()).into());
    }
    Ok(path)
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Where screenshots go: the build directory always, and `docs/screenshots`
/// when `VENTANILLA_UPDATE_SCREENSHOTS=1` (the README's pictures).
pub fn save_screenshot(name: &str, png: &[u8]) -> Result<(), BoxError> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
        .join("screenshots");
    std::fs::create_dir_all(&target)?;
    std::fs::write(target.join(name), png)?;
    if std::env::var_os("VENTANILLA_UPDATE_SCREENSHOTS").is_some() {
        let docs = repo_root().join("docs").join("screenshots");
        std::fs::create_dir_all(&docs)?;
        std::fs::write(docs.join(name), png)?;
    }
    Ok(())
}

/// Every file below `dir`, read whole (log searches).
pub fn read_all_files(dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>, BoxError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let mut bytes = Vec::new();
                std::fs::File::open(&path)?.read_to_end(&mut bytes)?;
                out.push((path, bytes));
            }
        }
    }
    Ok(out)
}
