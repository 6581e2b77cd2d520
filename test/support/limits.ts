/**
 * The time limit for set-up hooks and for tests that start databases, servers or the go command. It is there
 * to stop a hang, not to demand speed: on a 2-core machine shared with other work, set-up that takes 2 s on a
 * quiet one took over 60 s, and limits of 30 s and 60 s failed tests that were not broken. Bun gives hooks
 * only 5 s unless told otherwise, so every such hook names this; tests themselves take the test command's
 * --timeout (the same 120 s).
 */
export const HANG_LIMIT_MS = 120_000;
