//! A two-way fork-join on one helper thread that spins between jobs.
//!
//! The training step forks twice per iteration, about every 0.5 ms. A
//! rayon worker that finds no work goes to sleep within tens of µs, and
//! waking it (a futex wake, an inter-processor interrupt on a VM) took
//! 30-90 µs here, at each fork and again when the caller waits for the
//! stolen half: up to a fifth of a 2-thread step. The helper here spins
//! for a while after each job instead, so a fork that follows soon starts
//! at once, and the caller spins for the helper's half.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicPtr, AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long the helper spins for the next job before it parks: longer
/// than the gap between two steps (the optimiser update and sampling).
const SPIN: Duration = Duration::from_micros(300);

const IDLE: u8 = 0;
const POSTED: u8 = 1;
const DONE: u8 = 2;
const EXIT: u8 = 3;

/// A job as the helper sees it (its borrows' lifetime erased).
type JobPtr = *mut (dyn FnMut() + Send + 'static);

struct Shared {
    state: AtomicU8,
    /// Points at the posted job's pointer (on the caller's stack), valid
    /// while `state` is `POSTED`.
    job: AtomicPtr<JobPtr>,
    /// Set by the helper when its job panicked.
    panic: std::sync::Mutex<Option<Box<dyn Any + Send>>>,
}

/// Runs `join(a, b)` with `b` on the helper thread.
pub struct SpinPair {
    shared: Arc<Shared>,
    helper: Option<JoinHandle<()>>,
}

impl SpinPair {
    pub fn new() -> Self {
        let shared = Arc::new(Shared {
            state: AtomicU8::new(IDLE),
            job: AtomicPtr::new(std::ptr::null_mut()),
            panic: std::sync::Mutex::new(None),
        });
        let theirs = Arc::clone(&shared);
        let helper = thread::Builder::new()
            .name("spin-pair".into())
            .spawn(move || serve(&theirs))
            .expect("spawn the spin-pair helper thread");
        Self {
            shared,
            helper: Some(helper),
        }
    }

    /// Runs `a` here and `b` on the helper at the same time; returns when
    /// both are done. A panic in either is resumed here after both ended.
    pub fn join<A, B>(&self, a: A, b: B)
    where
        A: FnOnce(),
        B: FnOnce() + Send,
    {
        let mut b = Some(b);
        let mut job = move || {
            if let Some(b) = b.take() {
                b()
            }
        };
        let job: *mut (dyn FnMut() + Send + '_) = &mut job;
        // SAFETY: the helper uses the pointer only between POSTED and DONE,
        // and this function does not return (nor unwind: `a` runs under
        // catch_unwind) before it has seen DONE, so the job and its borrows
        // outlive every use.
        let mut job: JobPtr =
            unsafe { std::mem::transmute::<*mut (dyn FnMut() + Send + '_), JobPtr>(job) };
        self.shared.job.store(&mut job, Ordering::Relaxed);
        self.shared.state.store(POSTED, Ordering::Release);
        if let Some(helper) = &self.helper {
            helper.thread().unpark();
        }
        let ours = panic::catch_unwind(AssertUnwindSafe(a));
        let mut spins = 0u32;
        while self.shared.state.load(Ordering::Acquire) != DONE {
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(1024) {
                thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
        self.shared.state.store(IDLE, Ordering::Relaxed);
        if let Err(payload) = ours {
            panic::resume_unwind(payload);
        }
        let theirs = self.shared.panic.lock().map(|mut p| p.take());
        if let Ok(Some(payload)) = theirs {
            panic::resume_unwind(payload);
        }
    }
}

/// `a` and `b`, on two threads when there is a `pair`.
pub fn fork(pair: Option<&SpinPair>, a: impl FnOnce(), b: impl FnOnce() + Send) {
    match pair {
        Some(pair) => pair.join(a, b),
        None => {
            a();
            b();
        }
    }
}

impl Default for SpinPair {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for SpinPair {
    fn drop(&mut self) {
        self.shared.state.store(EXIT, Ordering::Release);
        if let Some(helper) = self.helper.take() {
            helper.thread().unpark();
            // A helper panic was already resumed by `join`.
            let _ = helper.join();
        }
    }
}

/// The helper's loop: spin for a job, park when none comes for `SPIN`.
fn serve(shared: &Shared) {
    loop {
        let since = Instant::now();
        let mut spins = 0u32;
        let state = loop {
            let state = shared.state.load(Ordering::Acquire);
            if state == POSTED || state == EXIT {
                break state;
            }
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(256) && since.elapsed() > SPIN {
                // An unpark between the load above and here makes this
                // park return at once.
                thread::park();
            } else {
                std::hint::spin_loop();
            }
        };
        if state == EXIT {
            return;
        }
        let job = shared.job.load(Ordering::Relaxed);
        // SAFETY: `join` posted a valid job and waits for DONE.
        let run = panic::catch_unwind(AssertUnwindSafe(|| unsafe { (**job)() }));
        if let Err(payload) = run {
            if let Ok(mut p) = shared.panic.lock() {
                *p = Some(payload);
            }
        }
        shared.state.store(DONE, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_halves_run_and_see_their_borrows() {
        let pair = SpinPair::new();
        for round in 0..1000u64 {
            let (mut x, mut y) = (0u64, 0u64);
            pair.join(|| x = round * 2, || y = round * 3);
            assert_eq!((x, y), (round * 2, round * 3));
        }
    }

    #[test]
    fn the_helper_half_runs_on_another_thread() {
        let pair = SpinPair::new();
        let here = thread::current().id();
        let mut there = here;
        pair.join(|| {}, || there = thread::current().id());
        assert_ne!(here, there);
    }

    #[test]
    fn a_job_after_the_helper_parked_still_runs() {
        let pair = SpinPair::new();
        thread::sleep(SPIN * 4);
        let mut y = 0;
        pair.join(|| {}, || y = 7);
        assert_eq!(y, 7);
    }

    #[test]
    fn a_panic_in_either_half_reaches_the_caller_after_both_ended() {
        let pair = SpinPair::new();
        let mut other_ran = false;
        let caught = panic::catch_unwind(AssertUnwindSafe(|| {
            pair.join(|| other_ran = false, || panic!("helper half"))
        }));
        assert!(caught.is_err());
        let caught = panic::catch_unwind(AssertUnwindSafe(|| {
            pair.join(|| panic!("caller half"), || other_ran = true)
        }));
        assert!(caught.is_err());
        assert!(other_ran);
        // and the pair still works
        let mut y = 0;
        pair.join(|| {}, || y = 1);
        assert_eq!(y, 1);
    }
}
