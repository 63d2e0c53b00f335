//! Sampling-mask families behind one interface, chosen by name (in progress).
