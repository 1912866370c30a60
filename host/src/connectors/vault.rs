//! Keys stored through the API, encrypted at rest with AES-256-GCM.
