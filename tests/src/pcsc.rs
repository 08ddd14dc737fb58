//! The real PC/SC stack for the tests: pcscd with vsmartcard's vpcd reader driver
//! (PLATFORM.md §D). Virtual cards (card-sim) plug into its two readers,
//! `Virtual PCD 00 00` / `00 01`, on TCP 35963 / 35964.
//!
//! [`ensure_pcscd`] reuses a pcscd whose socket answers; otherwise, when no pcscd process
//! exists, it removes the stale socket and pid file a killed pcscd leaves behind, starts
//! `pcscd --foreground --config <own dir with vpcd's entry>` (root only; its log goes to
//! a temp directory) and waits for the socket. A pcscd started here can be stopped and
//! started again (with or without readers) by the tests of the service's coming and
//! going, and is stopped with SIGTERM, by its own PID, when the test process ends, however
//! it ends: a small watchdog (`sh`) waits for the test process to go away.
//! Tests that insert cards or watch readers take [`lock_readers`] first: they run one at
//! a time.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::BoxError;

/// pcscd's client socket (the path is compiled into pcsc-lite).
pub const PCSCD_SOCKET: &str = "/run/pcscd/pcscd.comm";
/// pcscd's pid file.
pub const PCSCD_PID_FILE: &str = "/run/pcscd/pcscd.pid";
/// The vpcd readers, slot 0 and slot 1.
pub const VPCD_READERS: [&str; 2] = ["Virtual PCD 00 00", "Virtual PCD 00 01"];

/// The pcscd the tests use.
#[derive(Debug)]
pub struct Pcscd {
    /// Started by this process (else an already running pcscd is reused as it is).
    owned: Option<Mutex<Owned>>,
}

/// A pcscd started here, with its own reader configuration directory (`-c`).
#[derive(Debug)]
struct Owned {
    child: Option<Child>,
    /// Where its PID is kept for the watchdog.
    pid_file: PathBuf,
    /// Holds `vpcd` (the driver's reader.conf entry) or nothing (no readers).
    conf_dir: PathBuf,
    log: PathBuf,
}

static PCSCD: OnceLock<Result<Pcscd, String>> = OnceLock::new();
static READERS: Mutex<()> = Mutex::new(());

/// Serialises the tests that touch the readers (poisoning from a failed test is ignored).
pub fn lock_readers() -> MutexGuard<'static, ()> {
    READERS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Makes sure a pcscd answers on [`PCSCD_SOCKET`] (once per process).
pub fn ensure_pcscd() -> Result<&'static Pcscd, BoxError> {
    PCSCD
        .get_or_init(|| start_or_reuse().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| e.clone().into())
}

impl Pcscd {
    /// Whether this process started pcscd (and may stop and restart it).
    pub fn owned(&self) -> bool {
        self.owned.is_some()
    }

    /// PID of the pcscd started here, if it runs.
    pub fn pid(&self) -> Option<u32> {
        let owned = self.owned.as_ref()?;
        let inner = owned.lock().unwrap_or_else(PoisonError::into_inner);
        inner.child.as_ref().map(Child::id)
    }

    /// Its log file, when started here.
    pub fn log(&self) -> Option<PathBuf> {
        let owned = self.owned.as_ref()?;
        Some(
            owned
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .log
                .clone(),
        )
    }

    /// Stops the pcscd started here (SIGTERM to its PID, then waits for it to exit).
    pub fn stop(&self) -> Result<(), BoxError> {
        let owned = self
            .owned
            .as_ref()
            .ok_or("pcscd was not started by this process")?;
        let mut inner = owned.lock().unwrap_or_else(PoisonError::into_inner);
        inner.stop()
    }

    /// Starts the pcscd again, with the vpcd readers or with no reader at all.
    pub fn start(&self, vpcd_readers: bool) -> Result<(), BoxError> {
        let owned = self
            .owned
            .as_ref()
            .ok_or("pcscd was not started by this process")?;
        let mut inner = owned.lock().unwrap_or_else(PoisonError::into_inner);
        inner.start(vpcd_readers)
    }
}

impl Owned {
    fn stop(&mut self) -> Result<(), BoxError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        std::fs::write(&self.pid_file, "")?;
        let pid = i32::try_from(child.id())?;
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!("pcscd (pid {pid}) did not stop within 10 s").into())
    }

    fn start(&mut self, vpcd_readers: bool) -> Result<(), BoxError> {
        if self.child.is_some() {
            return Ok(());
        }
        if pcscd_process_exists() {
            return Err("another pcscd is running".into());
        }
        let conf = self.conf_dir.join("vpcd");
        if vpcd_readers {
            std::fs::write(&conf, vpcd_conf())?;
        } else {
            remove_if_present(&conf)?;
        }
        // A pcscd killed abruptly leaves these behind and the next one refuses to start.
        remove_if_present(Path::new(PCSCD_SOCKET))?;
        remove_if_present(Path::new(PCSCD_PID_FILE))?;
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let err = out.try_clone()?;
        let mut child = Command::new(pcscd_binary())
            .arg("--foreground")
            .arg("--config")
            .arg(&self.conf_dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| {
                format!("cannot start pcscd: {e} (apt-get install pcscd vsmartcard-vpcd)")
            })?;
        std::fs::write(&self.pid_file, child.id().to_string())?;
        if !wait_for_socket(Duration::from_secs(10)) {
            let status = child.try_wait().ok().flatten();
            self.child = Some(child);
            return Err(format!(
                "pcscd did not open {PCSCD_SOCKET} within 10 s (exit: {status:?}; log: {})",
                self.log.display()
            )
            .into());
        }
        self.child = Some(child);
        Ok(())
    }
}

/// The reader.conf entry of vsmartcard's vpcd (Debian's `/etc/reader.conf.d/vpcd`).
fn vpcd_conf() -> String {
    std::fs::read_to_string("/etc/reader.conf.d/vpcd").unwrap_or_else(|_| {
        "FRIENDLYNAME \"Virtual PCD\"\nDEVICENAME   /dev/null:0x8C7B\n\
         LIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so\nCHANNELID    0x8C7B\n"
            .into()
    })
}

fn socket_answers() -> bool {
    UnixStream::connect(PCSCD_SOCKET).is_ok()
}

fn pcscd_process_exists() -> bool {
    Command::new("pgrep")
        .args(["-x", "pcscd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn wait_for_socket(timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if socket_answers() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    socket_answers()
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(2))
            == Some("0")
    })
}

fn remove_if_present(path: &Path) -> Result<(), BoxError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot remove {}: {e}", path.display()).into()),
    }
}

fn start_or_reuse() -> Result<Pcscd, BoxError> {
    // A test process that just ended leaves its pcscd to its watchdog, which stops it
    // within moments: reusing it would lose the service mid-test.
    wait_for_orphaned_pcscd(Duration::from_secs(10));
    if socket_answers() {
        return Ok(Pcscd { owned: None });
    }
    if pcscd_process_exists() {
        // Starting or stopping: give it a moment, never touch its files.
        if wait_for_socket(Duration::from_secs(5)) {
            return Ok(Pcscd { owned: None });
        }
        return Err("a pcscd process exists but its socket does not answer".into());
    }
    if !is_root() {
        return Err("pcscd is not running and only root can start it (run the tests as root, or start pcscd with the vpcd driver)".into());
    }
    let dir = std::env::temp_dir().join(format!("ventanilla-pcscd-{}", std::process::id()));
    let conf_dir = dir.join("reader.conf.d");
    std::fs::create_dir_all(&conf_dir)?;
    let mut owned = Owned {
        child: None,
        pid_file: dir.join("pid"),
        conf_dir,
        log: dir.join("pcscd.log"),
    };
    std::fs::write(&owned.pid_file, "")?;
    spawn_watchdog(&owned.pid_file, &dir)?;
    owned.start(true)?;
    eprintln!(
        "pcsc harness: started pcscd (pid {}, log {})",
        owned.child.as_ref().map_or(0, Child::id),
        owned.log.display()
    );
    Ok(Pcscd {
        owned: Some(Mutex::new(owned)),
    })
}

/// Waits until no pcscd started by an earlier, ended test process (its watchdog is
/// about to stop it) is still running.
fn wait_for_orphaned_pcscd(timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while orphaned_pcscd().is_some() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The PID of a running pcscd whose harness directory belongs to a test process that is
/// gone.
fn orphaned_pcscd() -> Option<i32> {
    let entries = std::fs::read_dir(std::env::temp_dir()).ok()?;
    entries.flatten().find_map(|entry| {
        let name = entry.file_name();
        let owner: i32 = name
            .to_str()?
            .strip_prefix("ventanilla-pcscd-")?
            .parse()
            .ok()?;
        let pcscd: i32 = std::fs::read_to_string(entry.path().join("pid"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let alive = |pid: i32| kill(Pid::from_raw(pid), None).is_ok();
        (!alive(owner) && alive(pcscd)).then_some(pcscd)
    })
}

fn pcscd_binary() -> PathBuf {
    ["/usr/sbin/pcscd", "/sbin/pcscd"]
        .iter()
        .map(Path::new)
        .find(|p| p.exists())
        .map_or_else(|| PathBuf::from("pcscd"), Path::to_path_buf)
}

/// When this test process is gone (however it ends: statics are never dropped, so no
/// destructor could do it), SIGTERM to the pcscd whose PID is in `pid_file` (the one
/// started here, also after a restart), and its temp directory removed.
fn spawn_watchdog(pid_file: &Path, dir: &Path) -> Result<(), BoxError> {
    Command::new("sh")
        .args([
            "-c",
            r#"while kill -0 "$1" 2>/dev/null; do sleep 0.2; done
               pid=$(cat "$2" 2>/dev/null); [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
               sleep 3; rm -rf "$3""#,
            "pcscd-watchdog",
            &std::process::id().to_string(),
        ])
        .arg(pid_file)
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the pcscd watchdog: {e}"))?;
    Ok(())
}
