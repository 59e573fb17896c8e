//! A memo of account-level reads for the database work of ONE read-only request (polish10:
//! the thread page read inbox membership five times, the account's inboxes three times, its
//! teams, labels and conversation counts twice each).
//!
//! A handler opens a [`Scope`] at the start of its database closure and drops it at the end;
//! while it is open, on that thread, [`cached`] loads each `(kind, key)` once and hands out
//! clones. Nothing outlives the scope: every request reads the database afresh, and outside a
//! scope [`cached`] simply loads. Open it only around reads (page renders, fragments): a
//! request that changes membership, inboxes, teams, labels or counts must not read them back
//! through the memo.

use crate::error::AppResult;
use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;

type Memo = HashMap<(&'static str, i64), Box<dyn Any>>;

thread_local! {
    static MEMO: RefCell<Option<Memo>> = const { RefCell::new(None) };
}

/// An open memo on this thread; dropping the outermost scope empties it.
#[must_use = "the memo lasts as long as the scope is held"]
pub struct Scope {
    outermost: bool,
}

/// Opens the memo for the current request's database work on this thread. A scope opened
/// inside another one shares it (and leaves it to the outer one to close).
pub fn scope() -> Scope {
    MEMO.with(|m| {
        let mut m = m.borrow_mut();
        if m.is_some() {
            Scope { outermost: false }
        } else {
            *m = Some(HashMap::new());
            Scope { outermost: true }
        }
    })
}

impl Drop for Scope {
    fn drop(&mut self) {
        if self.outermost {
            MEMO.with(|m| *m.borrow_mut() = None);
        }
    }
}

/// True while a [`Scope`] is open on this thread.
pub fn active() -> bool {
    MEMO.with(|m| m.borrow().is_some())
}

/// The value of `(kind, key)`: loaded by `load` the first time in the open scope, cloned
/// afterwards; loaded every time when no scope is open. `kind` names what is read (e.g.
/// `"inboxes"`), `key` the account or user it is read for. Errors: those of `load` (not
/// memoised).
pub fn cached<T: Clone + 'static>(
    kind: &'static str,
    key: i64,
    load: impl FnOnce() -> AppResult<T>,
) -> AppResult<T> {
    let hit = MEMO.with(|m| {
        m.borrow()
            .as_ref()
            .and_then(|memo| memo.get(&(kind, key)))
            .and_then(|v| v.downcast_ref::<T>())
            .cloned()
    });
    if let Some(v) = hit {
        return Ok(v);
    }
    let v = load()?;
    MEMO.with(|m| {
        if let Some(memo) = m.borrow_mut().as_mut() {
            memo.insert((kind, key), Box::new(v.clone()));
        }
    });
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_once_per_scope_and_never_outside() {
        let loads = std::cell::Cell::new(0);
        let load = || -> AppResult<i64> {
            loads.set(loads.get() + 1);
            Ok(7)
        };
        assert_eq!(cached("x", 1, load).unwrap(), 7);
        assert_eq!(cached("x", 1, load).unwrap(), 7);
        assert_eq!(loads.get(), 2, "no scope: every call loads");
        {
            let _s = scope();
            assert!(active());
            cached("x", 1, load).unwrap();
            {
                let _inner = scope();
                cached("x", 1, load).unwrap();
            }
            assert!(active(), "an inner scope leaves the memo to the outer one");
            cached("x", 1, load).unwrap();
            cached("x", 2, load).unwrap();
            assert_eq!(loads.get(), 4, "one load per key in the scope");
        }
        assert!(!active());
        cached("x", 1, load).unwrap();
        assert_eq!(loads.get(), 5, "a new request reads afresh");
    }
}
