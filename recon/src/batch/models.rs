//! The networks of a batch: each model loaded once and shared by every volume and thread.

use crate::error::Result;
use crate::network::{default_for, ModelChoice, NetworkRecon};
use kspace::SamplingMask;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Each model loaded once and shared by every volume and thread.
#[derive(Default)]
pub(crate) struct ModelCache(Mutex<HashMap<String, Option<Arc<NetworkRecon>>>>);

impl ModelCache {
    pub(crate) fn get(&self, choice: &ModelChoice, mask: &SamplingMask) -> Result<Option<Arc<NetworkRecon>>> {
        let key = match choice {
            ModelChoice::NoModel => return Ok(None),
            ModelChoice::File(p) => p.display().to_string(),
            ModelChoice::Default => match default_for(mask) {
                None => return Ok(None),
                Some(d) => d.name.to_string(),
            },
        };
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = map.get(&key) {
            return Ok(m.clone());
        }
        let m = NetworkRecon::choose(choice, mask)?.map(Arc::new);
        map.insert(key, m.clone());
        Ok(m)
    }
}
