//! Turns for argon2: a few computations at once, a short queue, and a
//! refusal for everything beyond, so a log-in storm costs bounded memory
//! (each computation takes about 19 MiB) and bounded waiting.

use crate::config::AuthSettings;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Every turn is taken and the queue is full: answer 503 with Retry-After.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

pub struct PasswordChecks {
    turns: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
}

impl PasswordChecks {
    pub fn new(settings: &AuthSettings) -> Self {
        let turns = if settings.password_checks == 0 {
            std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
        } else {
            settings.password_checks
        };
        Self {
            turns: Arc::new(Semaphore::new(turns)),
            waiting: AtomicUsize::new(0),
            queue: settings.password_check_queue,
        }
    }

    /// Does `hash` match `password`?
    pub async fn verify(&self, hash: String, password: String) -> Result<bool, Busy> {
        self.run(move || super::password::verify_password(&hash, &password))
            .await
    }

    /// A new argon2 hash of `password`.
    pub async fn hash(&self, password: String) -> Result<String, Busy> {
        self.run(move || super::password::hash_password(&password))
            .await
    }

    /// Runs `work` on the blocking pool once a turn is free. The turn goes
    /// with the work, so a request that gives up early does not let more
    /// computations run than there are turns.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let turn = if let Ok(turn) = self.turns.clone().try_acquire_owned() {
            turn
        } else {
            if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.queue {
                self.waiting.fetch_sub(1, Ordering::AcqRel);
                return Err(Busy);
            }
            let turn = self.turns.clone().acquire_owned().await;
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            turn.expect("the semaphore is never closed")
        };
        let result = tokio::task::spawn_blocking(move || {
            let result = work();
            drop(turn);
            result
        })
        .await;
        Ok(result.expect("password hashing does not panic"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_the_turns_run_and_the_queue_is_bounded() {
        let checks = Arc::new(PasswordChecks::new(&AuthSettings {
            password_checks: 2,
            password_check_queue: 3,
            ..AuthSettings::default()
        }));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (checks, running, most) = (checks.clone(), running.clone(), most.clone());
            tasks.push(tokio::spawn(async move {
                checks
                    .run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(200));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
            }));
        }
        let mut done = 0;
        let mut refused = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => done += 1,
                Err(Busy) => refused += 1,
            }
        }
        assert!(
            most.load(Ordering::SeqCst) <= 2,
            "never more than the turns"
        );
        assert!(
            (2..=5).contains(&done),
            "the turns and the queue ran: {done}"
        );
        assert_eq!(done + refused, 20);
    }
}
