//! Answers that come later: work the core runs on its runtime ends with a message to the
//! process that asked, `{mongoose_system_metrics_reply, Ref, Result}`, where `Ref` is the
//! reference the call returned at once.

use rustler::env::{OwnedEnv, SavedTerm};
use rustler::{Encoder, Env, LocalPid, Term};

use crate::atoms;

/// Where and under which reference a later answer goes.
pub struct Reply {
    to: LocalPid,
    env: OwnedEnv,
    reference: SavedTerm,
}

impl Reply {
    /// A reply to the calling process, and the reference the call returns.
    pub fn to_caller<'a>(env: Env<'a>) -> (Reply, Term<'a>) {
        let reference = env.make_ref();
        let owned = OwnedEnv::new();
        let saved = owned.save(reference);
        (Reply { to: env.pid(), env: owned, reference: saved }, reference.encode(env))
    }

    /// Sends the result `encode` builds. The caller may be gone (the service stopped):
    /// nothing to do then.
    pub fn send(self, encode: impl for<'b> FnOnce(Env<'b>) -> Term<'b>) {
        let Reply { to, mut env, reference } = self;
        let _ = env
            .send_and_clear(&to, |e| (atoms::mongoose_system_metrics_reply(), reference.load(e), encode(e)));
    }
}
