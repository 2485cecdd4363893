//! Just enough PNG to judge a screenshot: 8-bit grey, grey+alpha, RGB and
//! RGBA, not interlaced, with the zlib stream inflated here (RFC 1950/1951,
//! after zlib's `puff.c`) and checked against its Adler-32. Written out so the
//! browser test needs no image crate; a decoder bug cannot pass silently,
//! because a wrong inflate fails the checksum.

/// A decoded image, one RGBA pixel per entry, row by row.
pub struct Image {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<[u8; 4]>,
}

/// Decode `bytes` as a PNG, or say why not.
pub fn decode(bytes: &[u8]) -> Result<Image, String> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    let mut rest = bytes
        .strip_prefix(SIGNATURE)
        .ok_or("not a PNG (no signature)")?;
    let mut header = None;
    let mut idat = Vec::new();
    while rest.len() >= 12 {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let kind = &rest[4..8];
        let data = rest.get(8..8 + len).ok_or("a chunk runs past the end")?;
        match kind {
            b"IHDR" => header = Some(data.to_vec()),
            b"IDAT" => idat.extend_from_slice(data),
            b"IEND" => break,
            _ => {}
        }
        rest = rest.get(12 + len..).ok_or("a chunk's CRC is missing")?;
    }
    let h = header.ok_or("no IHDR")?;
    if h.len() != 13 {
        return Err("IHDR is not 13 bytes".into());
    }
    let width = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize;
    let height = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
    let (depth, colour, interlace) = (h[8], h[9], h[12]);
    let channels = match colour {
        0 => 1,
        2 => 3,
        4 => 2,
        6 => 4,
        _ => return Err(format!("colour type {colour} not supported")),
    };
    if depth != 8 || interlace != 0 {
        return Err(format!(
            "bit depth {depth}, interlace {interlace}: only 8-bit, not interlaced"
        ));
    }
    let raw = zlib(&idat)?;
    let stride = width * channels;
    if raw.len() != height * (stride + 1) {
        return Err(format!(
            "{} bytes of image data for {width}x{height}x{channels}",
            raw.len()
        ));
    }
    let mut prev = vec![0u8; stride];
    let mut pixels = Vec::with_capacity(width * height);
    for row in raw.chunks(stride + 1) {
        let (filter, line) = (row[0], &row[1..]);
        let mut cur = vec![0u8; stride];
        for i in 0..stride {
            let a = if i >= channels { cur[i - channels] } else { 0 };
            let b = prev[i];
            let c = if i >= channels { prev[i - channels] } else { 0 };
            let predictor = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => paeth(a, b, c),
                f => return Err(format!("filter type {f}")),
            };
            cur[i] = line[i].wrapping_add(predictor);
        }
        for px in cur.chunks(channels) {
            pixels.push(match channels {
                1 => [px[0], px[0], px[0], 255],
                2 => [px[0], px[0], px[0], px[1]],
                3 => [px[0], px[1], px[2], 255],
                _ => [px[0], px[1], px[2], px[3]],
            });
        }
        prev = cur;
    }
    Ok(Image {
        width,
        height,
        pixels,
    })
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// Inflate a zlib stream and check its Adler-32.
pub fn zlib(data: &[u8]) -> Result<Vec<u8>, String> {
    let (&cmf, body) = data.split_first().ok_or("empty zlib stream")?;
    let (&flg, body) = body.split_first().ok_or("short zlib stream")?;
    if cmf & 0x0f != 8 || (u16::from(cmf) << 8 | u16::from(flg)) % 31 != 0 || flg & 0x20 != 0 {
        return Err("not a plain deflate zlib stream".into());
    }
    let mut bits = Bits {
        data: body,
        pos: 0,
        buf: 0,
        count: 0,
    };
    let out = inflate(&mut bits)?;
    let tail = body
        .get(bits.pos..bits.pos + 4)
        .ok_or("no Adler-32 after the deflate stream")?;
    let want = u32::from_be_bytes([tail[0], tail[1], tail[2], tail[3]]);
    if adler32(&out) != want {
        return Err("Adler-32 mismatch: the image data inflated wrongly".into());
    }
    Ok(out)
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    b << 16 | a
}

/// Bits of a deflate stream, least significant first.
struct Bits<'a> {
    data: &'a [u8],
    /// The next byte not yet loaded into `buf`.
    pos: usize,
    buf: u32,
    count: u32,
}

impl Bits<'_> {
    fn need(&mut self, n: u32) -> Result<u32, String> {
        while self.count < n {
            let byte = *self.data.get(self.pos).ok_or("deflate stream ends early")?;
            self.pos += 1;
            self.buf |= u32::from(byte) << self.count;
            self.count += 8;
        }
        let v = self.buf & ((1u32 << n) - 1);
        self.buf >>= n;
        self.count -= n;
        Ok(v)
    }

    /// One symbol of the canonical Huffman code `h`.
    fn decode(&mut self, h: &Huffman) -> Result<usize, String> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= self.need(1)? as i32;
            let count = i32::from(h.count[len]);
            if code - count < first {
                return Ok(usize::from(h.symbol[(index + code - first) as usize]));
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err("an invalid Huffman code".into())
    }
}

/// A canonical Huffman code: how many codes of each length, and the symbols
/// in code order.
struct Huffman {
    count: [u16; 16],
    symbol: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Result<Huffman, String> {
        let mut count = [0u16; 16];
        for &l in lengths {
            count[usize::from(l)] += 1;
        }
        let mut left = 1i32;
        for &c in &count[1..] {
            left = (left << 1) - i32::from(c);
            if left < 0 {
                return Err("an over-subscribed Huffman code".into());
            }
        }
        let mut offs = [0u16; 16];
        for len in 1..15 {
            offs[len + 1] = offs[len] + count[len];
        }
        let mut symbol = vec![0u16; lengths.len()];
        for (sym, &l) in lengths.iter().enumerate() {
            if l != 0 {
                symbol[usize::from(offs[usize::from(l)])] = sym as u16;
                offs[usize::from(l)] += 1;
            }
        }
        count[0] = 0;
        Ok(Huffman { count, symbol })
    }
}

const LBASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEXT: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DBASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DEXT: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

fn inflate(bits: &mut Bits) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let last = bits.need(1)? == 1;
        match bits.need(2)? {
            0 => {
                // Stored: skip to the byte boundary, then LEN and its complement.
                bits.buf = 0;
                bits.count = 0;
                let at = bits.pos;
                let head = bits.data.get(at..at + 4).ok_or("short stored block")?;
                let len = usize::from(u16::from_le_bytes([head[0], head[1]]));
                if u16::from_le_bytes([head[2], head[3]]) != !(len as u16) {
                    return Err("a stored block's length check fails".into());
                }
                let body = bits
                    .data
                    .get(at + 4..at + 4 + len)
                    .ok_or("short stored block")?;
                out.extend_from_slice(body);
                bits.pos = at + 4 + len;
            }
            1 => {
                let mut lengths = [0u8; 288];
                lengths[..144].fill(8);
                lengths[144..256].fill(9);
                lengths[256..280].fill(7);
                lengths[280..].fill(8);
                let lit = Huffman::new(&lengths)?;
                let dist = Huffman::new(&[5u8; 30])?;
                codes(bits, &mut out, &lit, &dist)?;
            }
            2 => {
                let (lit, dist) = dynamic(bits)?;
                codes(bits, &mut out, &lit, &dist)?;
            }
            _ => return Err("block type 3".into()),
        }
        if last {
            return Ok(out);
        }
    }
}

fn dynamic(bits: &mut Bits) -> Result<(Huffman, Huffman), String> {
    const ORDER: [usize; 19] = [
        16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
    ];
    let nlen = bits.need(5)? as usize + 257;
    let ndist = bits.need(5)? as usize + 1;
    let ncode = bits.need(4)? as usize + 4;
    let mut cl = [0u8; 19];
    for &i in &ORDER[..ncode] {
        cl[i] = bits.need(3)? as u8;
    }
    let cl = Huffman::new(&cl)?;
    let mut lengths = vec![0u8; nlen + ndist];
    let mut i = 0;
    while i < nlen + ndist {
        let sym = bits.decode(&cl)?;
        let (value, times) = match sym {
            0..=15 => (sym as u8, 1),
            16 => {
                let prev = *lengths[..i].last().ok_or("a repeat with nothing before")?;
                (prev, 3 + bits.need(2)? as usize)
            }
            17 => (0, 3 + bits.need(3)? as usize),
            _ => (0, 11 + bits.need(7)? as usize),
        };
        let end = i + times;
        lengths
            .get_mut(i..end)
            .ok_or("code lengths run past their count")?
            .fill(value);
        i = end;
    }
    Ok((
        Huffman::new(&lengths[..nlen])?,
        Huffman::new(&lengths[nlen..])?,
    ))
}

fn codes(bits: &mut Bits, out: &mut Vec<u8>, lit: &Huffman, dist: &Huffman) -> Result<(), String> {
    loop {
        let sym = bits.decode(lit)?;
        match sym {
            0..=255 => out.push(sym as u8),
            256 => return Ok(()),
            _ => {
                let k = sym - 257;
                let len = usize::from(*LBASE.get(k).ok_or("a bad length code")?)
                    + bits.need(u32::from(LEXT[k]))? as usize;
                let d = bits.decode(dist)?;
                let back = usize::from(*DBASE.get(d).ok_or("a bad distance code")?)
                    + bits.need(u32::from(DEXT[d]))? as usize;
                if back > out.len() {
                    return Err("a distance reaches before the start".into());
                }
                let from = out.len() - back;
                for j in 0..len {
                    let b = out[from + j];
                    out.push(b);
                }
            }
        }
    }
}
