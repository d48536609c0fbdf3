//! Progress: offline-first progress events from phones, lesson and course completion, the JP ledger, and the learner and admin views built on them.
