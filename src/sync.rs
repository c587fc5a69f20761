//! Small synchronisation helpers shared by the batch runner, the model's
//! step batcher, progress output and the manifest writer.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, taking the data even when another thread panicked while
/// holding it: every value kurz keeps behind a mutex (counters, queues,
/// open files) stays usable after such a panic, and one failed input must
/// not stop the others.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_mutex_still_locks() {
        let m = Mutex::new(1);
        let _ = std::panic::catch_unwind(|| {
            let _guard = m.lock().unwrap();
            panic!("poison it");
        });
        assert!(m.is_poisoned());
        *lock(&m) += 1;
        assert_eq!(*lock(&m), 2);
    }
}
