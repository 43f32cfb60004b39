//! Killing a child process at a chosen moment (crash tests).

use std::process::Child;
use std::time::{Duration, Instant};

/// Waits up to `wait` for `child` to end; if it still runs, kills it with SIGKILL. Returns
/// whether the kill landed while it ran. The child is reaped either way.
pub fn kill_after(child: &mut Child, wait: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < wait {
        if child.try_wait().expect("poll the child").is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let running = child.try_wait().expect("poll the child").is_none();
    if running {
        child.kill().expect("SIGKILL the child");
    }
    let _ = child.wait();
    running
}
