//! A small, versioned binary encoding for `snapshot`/`restore` (no serde in the guest).

/// Appends values to a byte buffer.
#[derive(Debug, Default)]
pub struct StateWriter {
    buf: Vec<u8>,
}

impl StateWriter {
    /// A writer whose first byte is a format version.
    pub fn new(version: u8) -> Self {
        StateWriter { buf: vec![version] }
    }
    /// Append a u32.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Append a u64.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Append an f64 (bit-exact).
    pub fn f64(&mut self, v: f64) -> &mut Self {
        self.u64(v.to_bits())
    }
    /// Append an optional f64.
    pub fn opt_f64(&mut self, v: Option<f64>) -> &mut Self {
        match v {
            Some(x) => self.u32(1).f64(x),
            None => self.u32(0),
        }
    }
    /// The encoded bytes.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads values written by [`StateWriter`]; every read fails cleanly on short input.
#[derive(Debug)]
pub struct StateReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> StateReader<'a> {
    /// A reader; returns the format version with it, or an error for an empty buffer.
    pub fn new(buf: &'a [u8]) -> Result<(u8, Self), String> {
        let (&version, _) = buf.split_first().ok_or("empty snapshot")?;
        Ok((version, StateReader { buf, pos: 1 }))
    }
    fn take<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let end = self.pos + N;
        let bytes = self.buf.get(self.pos..end).ok_or("snapshot truncated")?;
        self.pos = end;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }
    /// Read a u32.
    pub fn u32(&mut self) -> Result<u32, String> {
        self.take::<4>().map(u32::from_le_bytes)
    }
    /// Read a u64.
    pub fn u64(&mut self) -> Result<u64, String> {
        self.take::<8>().map(u64::from_le_bytes)
    }
    /// Read an f64.
    pub fn f64(&mut self) -> Result<f64, String> {
        self.u64().map(f64::from_bits)
    }
    /// Read an optional f64.
    pub fn opt_f64(&mut self) -> Result<Option<f64>, String> {
        match self.u32()? {
            0 => Ok(None),
            _ => self.f64().map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_truncation() {
        let mut w = StateWriter::new(3);
        w.u32(7).f64(1.25).opt_f64(None).opt_f64(Some(-2.5)).u64(u64::MAX);
        let bytes = w.finish();
        let (version, mut r) = StateReader::new(&bytes).unwrap();
        assert_eq!(version, 3);
        assert_eq!(r.u32(), Ok(7));
        assert_eq!(r.f64(), Ok(1.25));
        assert_eq!(r.opt_f64(), Ok(None));
        assert_eq!(r.opt_f64(), Ok(Some(-2.5)));
        assert_eq!(r.u64(), Ok(u64::MAX));
        assert_eq!(r.u32(), Err("snapshot truncated".to_string()));
        assert!(StateReader::new(&[]).is_err());
    }
}
