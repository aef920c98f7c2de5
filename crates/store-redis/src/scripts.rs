//! The Lua scripts, loaded once per store (EVALSHA, reloaded by the client on NOSCRIPT).
//! Each changes one slot atomically; the `.lua` files say what each does.

use redis::Script;

/// A script with `deadline.lua` (the one exact move of a `due` entry) in front of it.
macro_rules! with_deadline {
    ($file:literal) => {
        concat!(include_str!("lua/deadline.lua"), include_str!($file))
    };
}

/// A script with `outbox.lua` (the one way an event enters its slot's outbox) in front of it.
macro_rules! with_outbox {
    ($($file:literal),+) => {
        concat!(include_str!("lua/outbox.lua"), $(include_str!($file)),+)
    };
}

pub(crate) struct Scripts {
    pub(crate) insert: Script,
    pub(crate) update_live: Script,
    pub(crate) touch: Script,
    pub(crate) end: Script,
    pub(crate) states: Script,
    pub(crate) set_deadline: Script,
    pub(crate) due: Script,
    pub(crate) purge: Script,
    pub(crate) stats: Script,
    pub(crate) stats_pairs: Script,
    pub(crate) dir: crate::directory::DirScripts,
    pub(crate) sinks: crate::sinks::SinkScripts,
}

impl Scripts {
    pub(crate) fn new() -> Scripts {
        Scripts {
            insert: Script::new(with_outbox!("lua/counters.lua", "lua/insert.lua")),
            update_live: Script::new(with_deadline!("lua/update_live.lua")),
            touch: Script::new(with_deadline!("lua/touch.lua")),
            end: Script::new(with_outbox!(
                "lua/deadline.lua",
                "lua/counters.lua",
                "lua/end.lua"
            )),
            states: Script::new(include_str!("lua/states.lua")),
            set_deadline: Script::new(with_deadline!("lua/set_deadline.lua")),
            due: Script::new(include_str!("lua/due.lua")),
            purge: Script::new(include_str!("lua/purge.lua")),
            stats: Script::new(include_str!("lua/stats.lua")),
            stats_pairs: Script::new(include_str!("lua/stats_pairs.lua")),
            dir: crate::directory::DirScripts::new(),
            sinks: crate::sinks::SinkScripts::new(),
        }
    }

    /// The directory's principal update, with its event (directory.rs).
    pub(crate) fn update_principal() -> Script {
        Script::new(with_outbox!("lua/update_principal.lua"))
    }

    /// The relay of an outbox into the global event stream (events.rs).
    pub(crate) fn relay() -> Script {
        Script::new(include_str!("lua/relay.lua"))
    }
}
