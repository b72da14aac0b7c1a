//! The request body: `prometheus.WriteRequest` protobuf, snappy block-compressed, as remote-write 1.0
//! defines it. Hand-encoded: each series' labels are encoded once (see [`encode_labels`]) and copied
//! into every request, so encoding a batch allocates nothing per label.
//!
//! ```protobuf
//! message WriteRequest { repeated TimeSeries timeseries = 1; }
//! message TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//! message Label        { string name = 1; string value = 2; }
//! message Sample       { double value = 1; int64 timestamp = 2; }
//! ```

use std::sync::Arc;

/// Protobuf wire types used here.
const VARINT: u64 = 0;
const FIXED64: u64 = 1;
const LEN: u64 = 2;

/// One series' identity: its labels, already encoded as `TimeSeries.labels` fields.
#[derive(Debug, PartialEq, Eq)]
pub struct Series {
    pub labels: Box<[u8]>,
}

/// One queued sample.
#[derive(Debug, Clone)]
pub struct Entry {
    pub series: Arc<Series>,
    pub timestamp_ms: i64,
    pub value: f64,
}

fn varint_len(v: u64) -> usize {
    // 7 bits per byte; 0 still takes one byte.
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_key(out: &mut Vec<u8>, field: u64, wire_type: u64) {
    put_varint(out, (field << 3) | wire_type);
}

/// Length of a length-delimited field of `len` bytes, key included (fields 1-15 have 1-byte keys).
fn len_field(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

fn put_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_key(out, field, LEN);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// `labels` (sorted, validated) as repeated `TimeSeries.labels` fields.
pub fn encode_labels(labels: &[(&str, &str)]) -> Box<[u8]> {
    let size: usize = labels.iter().map(|(n, v)| len_field(len_field(n.len()) + len_field(v.len()))).sum();
    let mut out = Vec::with_capacity(size);
    for (name, value) in labels {
        put_key(&mut out, 1, LEN);
        put_varint(&mut out, (len_field(name.len()) + len_field(value.len())) as u64);
        put_bytes(&mut out, 1, name.as_bytes());
        put_bytes(&mut out, 2, value.as_bytes());
    }
    out.into_boxed_slice()
}

/// `Sample { value, timestamp }`'s encoded length.
fn sample_len(timestamp_ms: i64) -> usize {
    // key + 8 bytes of double, key + varint of the timestamp (two's complement as u64, as int64 is).
    1 + 8 + 1 + varint_len(timestamp_ms as u64)
}

fn put_sample(out: &mut Vec<u8>, value: f64, timestamp_ms: i64) {
    put_key(out, 2, LEN);
    put_varint(out, sample_len(timestamp_ms) as u64);
    put_key(out, 1, FIXED64);
    out.extend_from_slice(&value.to_le_bytes());
    put_key(out, 2, VARINT);
    put_varint(out, timestamp_ms as u64);
}

/// Encodes batches into request bodies, reusing its buffers between batches.
pub struct Encoder {
    order: Vec<usize>,
    raw: Vec<u8>,
    snappy: snap::raw::Encoder,
}

impl Default for Encoder {
    fn default() -> Self {
        Self { order: Vec::new(), raw: Vec::new(), snappy: snap::raw::Encoder::new() }
    }
}

impl Encoder {
    /// The uncompressed protobuf of the last [`Encoder::encode`].
    #[cfg(test)]
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// One `WriteRequest` holding `batch`, snappy-compressed. Samples are grouped per series and
    /// sorted by time within it (receivers refuse a series that goes back in time); of two samples
    /// of one series with the same timestamp, the one pushed last is kept.
    pub fn encode(&mut self, batch: &[Entry]) -> Result<Vec<u8>, snap::Error> {
        self.order.clear();
        self.order.extend(0..batch.len());
        // Stable: equal (series, time) keep push order, so the dedup below keeps the newest.
        self.order.sort_by(|&a, &b| {
            let (a, b) = (&batch[a], &batch[b]);
            a.series.labels.cmp(&b.series.labels).then(a.timestamp_ms.cmp(&b.timestamp_ms))
        });
        let same = |a: &Entry, b: &Entry| a.series.labels == b.series.labels && a.timestamp_ms == b.timestamp_ms;
        let order = &mut self.order;
        // Keep the last of each run of equal (series, time).
        let mut kept = 0;
        for i in 0..order.len() {
            let next_is_same = order.get(i + 1).is_some_and(|&n| same(&batch[order[i]], &batch[n]));
            if !next_is_same {
                order[kept] = order[i];
                kept += 1;
            }
        }
        order.truncate(kept);

        self.raw.clear();
        let mut start = 0;
        while start < order.len() {
            let series = &batch[order[start]].series;
            let end = order[start..]
                .iter()
                .position(|&i| batch[i].series.labels != series.labels)
                .map_or(order.len(), |p| start + p);
            let samples = &order[start..end];
            let body: usize = series.labels.len()
                + samples.iter().map(|&i| len_field(sample_len(batch[i].timestamp_ms))).sum::<usize>();
            put_key(&mut self.raw, 1, LEN);
            put_varint(&mut self.raw, body as u64);
            self.raw.extend_from_slice(&series.labels);
            for &i in samples {
                put_sample(&mut self.raw, batch[i].value, batch[i].timestamp_ms);
            }
            start = end;
        }
        self.snappy.compress_vec(&self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_match_the_protobuf_encoding() {
        for (v, bytes) in [
            (0u64, vec![0u8]),
            (1, vec![1]),
            (127, vec![0x7f]),
            (128, vec![0x80, 0x01]),
            (300, vec![0xac, 0x02]),
            (u64::MAX, vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out, bytes, "{v}");
            assert_eq!(varint_len(v), bytes.len(), "{v}");
        }
    }

    #[test]
    fn one_label_one_sample_byte_for_byte() {
        let series = Arc::new(Series { labels: encode_labels(&[("__name__", "up")]) });
        let mut enc = Encoder::default();
        let body = enc.encode(&[Entry { series, timestamp_ms: 1, value: 1.0 }]).unwrap();
        let mut expected = vec![0x0a, 0x1d]; // timeseries, 29 bytes
        expected.extend([0x0a, 0x0e, 0x0a, 0x08]); // labels, 14 bytes; name, 8 bytes
        expected.extend(b"__name__");
        expected.extend([0x12, 0x02]); // value, 2 bytes
        expected.extend(b"up");
        expected.extend([0x12, 0x0b, 0x09]); // samples, 11 bytes; double
        expected.extend(1.0f64.to_le_bytes());
        expected.extend([0x10, 0x01]); // timestamp 1
        assert_eq!(enc.raw(), expected.as_slice());
        assert_eq!(snap::raw::Decoder::new().decompress_vec(&body).unwrap(), expected);
    }

    #[test]
    fn empty_batch_is_an_empty_request() {
        let mut enc = Encoder::default();
        let body = enc.encode(&[]).unwrap();
        assert!(enc.raw().is_empty());
        assert_eq!(snap::raw::Decoder::new().decompress_vec(&body).unwrap(), Vec::<u8>::new());
    }
}
