//! Tauri commands, split along the trust boundary: `clerk` for the clerk
//! console, `counter` for the screen facing the citizen. Each is a few lines
//! over the desk; `capabilities/*.json` grants each window only its own module.

pub mod clerk;
pub mod counter;

use std::sync::Arc;

use tauri::ipc::{Channel, IpcResponse};

use crate::desk::{Desk, Sink};
use crate::ipc::{AppInfo, CounterInfo};

/// What every command can reach.
pub struct AppState {
    pub desk: Arc<Desk>,
    pub app_info: AppInfo,
    pub counter_info: CounterInfo,
    pub startup: StartupProbe,
    /// Training mode's virtual card reader.
    pub training: Option<crate::training::Training>,
}

/// Logs, once per window, how long after process start its page first called
/// in: the "interactive" time that `scripts/footprint.sh` reads.
pub struct StartupProbe {
    started: std::time::Instant,
    clerk: std::sync::Once,
    counter: std::sync::Once,
}

impl StartupProbe {
    pub fn new(started: std::time::Instant) -> StartupProbe {
        StartupProbe {
            started,
            clerk: std::sync::Once::new(),
            counter: std::sync::Once::new(),
        }
    }

    pub(crate) fn clerk_ready(&self) {
        self.clerk.call_once(|| {
            let ms = self.started.elapsed().as_millis();
            tracing::info!(ms, "startup: clerk window interactive");
        });
    }

    pub(crate) fn counter_ready(&self) {
        self.counter.call_once(|| {
            let ms = self.started.elapsed().as_millis();
            tracing::info!(ms, "startup: counter window interactive");
        });
    }
}

/// A window's own channel as a desk sink.
pub(crate) struct ChannelSink<T: IpcResponse + Clone + Send + Sync>(pub Channel<T>);

impl<T: IpcResponse + Clone + Send + Sync> Sink<T> for ChannelSink<T> {
    fn send(&self, message: T) -> bool {
        self.0.send(message).is_ok()
    }
}
