//! Fast row skipping for sequential Huffman JPEGs: start libjpeg in the middle of the scan.
//!
//! A region far down a large JPEG costs libjpeg-turbo a Huffman decode of every block above
//! it (`jpeg_skip_scanlines` discards the coefficients, but must still parse each code). This
//! module does that parse itself, faster (one table lookup per AC coefficient: code and
//! magnitude bits together), and then hands libjpeg a *spliced* stream that starts at the
//! wanted iMCU row:
//!
//! ```text
//! [original headers, SOF height patched] [one synthetic iMCU row] [original scan data from
//!  the first bit of iMCU row R on, unchanged]
//! ```
//!
//! The synthetic row is made of blocks with no AC coefficients whose DC differences bring
//! every component's DC predictor to the value it has at the start of row R (the only state
//! a baseline Huffman decoder carries from one MCU to the next), and whose bit length makes
//! the original data that follows line up with its byte boundaries (so its bytes, 0xFF
//! stuffing included, are copied as they are; only the one byte where the two meet is
//! merged). libjpeg then decodes the spliced stream as a valid file whose rows below the
//! synthetic one are exactly the original rows from R on, bit for bit (see the tests, which
//! compare against plain decodes).
//!
//! Only used where this is exact and simple: baseline / extended sequential Huffman (SOF0,
//! SOF1), 8-bit, one scan holding every component, no restart markers. Anything else (or any
//! surprise in the data, e.g. a marker before row R) returns `None` and the caller decodes
//! the original stream as before.

use std::cell::RefCell;
use std::rc::Rc;

/// Bits of the fast lookup tables.
const LUT_BITS: u32 = 12;
const LUT_SIZE: usize = 1 << LUT_BITS;

/// A Huffman table as in a DHT segment.
#[derive(Clone)]
struct HuffSpec {
    counts: [u8; 16],
    symbols: Vec<u8>,
}

/// Canonical decoding tables.
struct Huff {
    /// Per code length `l` (1..=16): the largest code of that length (or -1), and the index
    /// of its first symbol minus its first code.
    maxcode: [i32; 18],
    valoff: [i32; 17],
    symbols: Vec<u8>,
    /// `LUT_BITS` bits -> `(len << 8) | symbol`, 0 when the code is longer.
    lut: Box<[u16; LUT_SIZE]>,
    /// Symbol -> (code, length); length 0 when the table has no such symbol.
    enc: [(u16, u8); 256],
}

impl Huff {
    fn new(spec: &HuffSpec) -> Option<Huff> {
        let mut maxcode = [-1i32; 18];
        let mut valoff = [0i32; 17];
        let mut lut = Box::new([0u16; LUT_SIZE]);
        let mut enc = [(0u16, 0u8); 256];
        let mut code: u32 = 0;
        let mut k = 0usize;
        for l in 1..=16usize {
            let n = usize::from(spec.counts[l - 1]);
            valoff[l] = k as i32 - code as i32;
            for _ in 0..n {
                let sym = *spec.symbols.get(k)?;
                if code >= (1 << l) {
                    return None; // over-subscribed
                }
                enc[usize::from(sym)] = (code as u16, l as u8);
                if l as u32 <= LUT_BITS {
                    let shift = LUT_BITS - l as u32;
                    let base = (code << shift) as usize;
                    for e in &mut lut[base..base + (1 << shift)] {
                        *e = ((l as u16) << 8) | u16::from(sym);
                    }
                }
                code += 1;
                k += 1;
            }
            if n > 0 {
                maxcode[l] = code as i32 - 1;
            }
            code <<= 1;
        }
        maxcode[17] = i32::MAX; // sentinel: a 17-bit "code" means corrupt data
        Some(Huff {
            maxcode,
            valoff,
            symbols: spec.symbols.clone(),
            lut,
            enc,
        })
    }
}

/// AC skipping table: `LUT_BITS` bits -> what the next AC symbols (code + magnitude bits)
/// do, 0 when the first one is not resolvable from `LUT_BITS` bits. Bits 0..8: bits of the
/// first symbol; 8..16: its k increment (run + 1; 16 for ZRL; 64 for end of block). Bits
/// 16..24: bits of as many whole symbols as the window holds (up to an end of block);
/// 24..31: their coefficients' k increment; bit 31: they end with an end of block.
fn ac_skip_lut(h: &Huff) -> Box<[u32; LUT_SIZE]> {
    // One symbol at each index: (bits, increment, is end of block); bits 0 = unresolvable.
    let one = |i: usize| -> (u32, u32, bool) {
        let e = h.lut[i];
        if e == 0 {
            return (0, 0, false);
        }
        let len = u32::from(e >> 8);
        let sym = (e & 0xFF) as u8;
        let (r, s) = (u32::from(sym >> 4), u32::from(sym & 15));
        if s == 0 {
            if r == 15 {
                (len, 16, false)
            } else {
                (len, 64, true)
            }
        } else if len + s <= LUT_BITS {
            (len + s, r + 1, false)
        } else {
            (0, 0, false)
        }
    };
    let mut out = Box::new([0u32; LUT_SIZE]);
    for (i, o) in out.iter_mut().enumerate() {
        let (b1, inc1, eob1) = one(i);
        if b1 == 0 {
            continue;
        }
        let (mut bits, mut inc, mut eob) = (b1, if eob1 { 0 } else { inc1 }, eob1);
        while !eob && bits < LUT_BITS {
            let j = (i << bits) & (LUT_SIZE - 1);
            let (b, n, e) = one(j);
            if b == 0 || bits + b > LUT_BITS || inc + if e { 0 } else { n } > 63 {
                break;
            }
            bits += b;
            if e {
                eob = true;
            } else {
                inc += n;
            }
        }
        *o = b1 | (inc1 << 8) | (bits << 16) | (inc << 24) | (u32::from(eob) << 31);
    }
    out
}

/// A Huffman table ready for skipping: decoding tables, and for AC tables the skip table.
struct Tables {
    huff: Huff,
    skip: Option<Box<[u32; LUT_SIZE]>>,
}

/// Tables built recently on this thread, by definition: files from one encoder (and most
/// files at all: libjpeg's standard tables) share them, and building the lookup tables
/// costs more than skipping a few rows of a small image.
const CACHE_ENTRIES: usize = 8;

thread_local! {
    static CACHE: RefCell<Vec<(bool, HuffSpec, Rc<Tables>)>> = const { RefCell::new(Vec::new()) };
}

fn tables(spec: &HuffSpec, ac: bool) -> Option<Rc<Tables>> {
    CACHE.with(|cell| {
        let mut cache = cell.borrow_mut();
        if let Some((_, _, t)) = cache
            .iter()
            .find(|(a, s, _)| *a == ac && s.counts == spec.counts && s.symbols == spec.symbols)
        {
            return Some(Rc::clone(t));
        }
        let huff = Huff::new(spec)?;
        let skip = ac.then(|| ac_skip_lut(&huff));
        let t = Rc::new(Tables { huff, skip });
        if cache.len() >= CACHE_ENTRIES {
            cache.remove(0);
        }
        cache.push((ac, spec.clone(), Rc::clone(&t)));
        Some(t)
    })
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Load bytes into the MSB-first bit buffer `buf` (`n` valid bits) one at a time, unstuffing
/// 0xFF 0x00; at a marker (or the end of the data) zeros are fed and `ended` is set.
#[cold]
#[inline(never)]
fn refill_slow(
    data: &[u8],
    pos: &mut usize,
    ended: &mut bool,
    fed: &mut u32,
    mut buf: u64,
    mut n: u32,
) -> (u64, u32) {
    // Bits past `n` may hold data bytes from a fast refill: clear them first.
    buf &= if n == 0 { 0 } else { !0u64 << (64 - n) };
    while n <= 56 {
        let mut b = 0u8;
        if !*ended {
            match data.get(*pos) {
                Some(&0xFF) => match data.get(*pos + 1) {
                    Some(0x00) => {
                        b = 0xFF;
                        *pos += 2;
                    }
                    _ => *ended = true,
                },
                Some(&v) => {
                    b = v;
                    *pos += 1;
                }
                None => *ended = true,
            }
        }
        if *ended {
            *fed += 8;
        }
        buf |= u64::from(b) << (56 - n);
        n += 8;
    }
    (buf, n)
}

/// The next Huffman symbol in `buf` (at least 16 valid bits): `(code length, symbol)`.
#[inline(always)]
fn lookup(h: &Huff, buf: u64) -> Option<(u32, u8)> {
    let e = h.lut[(buf >> (64 - LUT_BITS)) as usize & (LUT_SIZE - 1)];
    if e != 0 {
        return Some((u32::from(e >> 8), (e & 0xFF) as u8));
    }
    lookup_long(h, buf)
}

#[cold]
fn lookup_long(h: &Huff, buf: u64) -> Option<(u32, u8)> {
    for l in LUT_BITS as usize + 1..=16 {
        let code = (buf >> (64 - l)) as i32;
        if code <= h.maxcode[l] {
            let idx = (h.valoff[l] + code) as usize;
            return h.symbols.get(idx).map(|&s| (l as u32, s));
        }
    }
    None
}

/// The raw position of the next unread bit, `(byte index, bit 0..8 from the MSB)`, when the
/// bytes before `pos` have been loaded and `n` of their bits are still unread.
fn position(data: &[u8], pos: usize, n: u32) -> (usize, u32) {
    if n == 0 {
        return (pos, 0);
    }
    let mut p = pos;
    let mut bits = n;
    loop {
        // The data byte ending at raw position p: a stuffed 0xFF spans two raw bytes.
        let two = p >= 2 && data[p - 1] == 0x00 && data[p - 2] == 0xFF;
        let start = if two { p - 2 } else { p - 1 };
        if bits <= 8 {
            return (start, 8 - bits);
        }
        bits -= 8;
        p = start;
    }
}

#[inline(always)]
fn extend(v: u32, s: u32) -> i32 {
    if s == 0 {
        0
    } else if v < (1 << (s - 1)) {
        v as i32 - (1 << s) + 1
    } else {
        v as i32
    }
}

/// Scan layout facts.
struct Layout {
    /// Per block of an MCU: (component index in the frame, DC table, AC table).
    blocks: Vec<(usize, usize, usize)>,
    /// MCUs per iMCU row.
    mcus_per_row: usize,
    /// Total iMCU rows.
    rows: usize,
    /// Pixel rows per iMCU row (full resolution).
    row_height: u32,
    /// Rows of MCUs in scan order (for [`Stream::narrow`]): block rows of a one-component
    /// scan (an iMCU row holds `v` of them), iMCU rows otherwise; their count, MCUs in each,
    /// and pixel height; and the pixel width of one MCU column.
    units: usize,
    unit_mcus: usize,
    unit_height: u32,
    mcu_width: u32,
}

/// Parsed stream facts needed to skip and splice.
pub struct Stream {
    /// Byte offset of the first entropy-coded byte (just after the SOS segment).
    scan_start: usize,
    /// Offset of the SOF segment's height field (the width follows it).
    sof_height_at: usize,
    width: u32,
    height: u32,
    ncomp: usize,
    /// One-component files: the DC quantizer (for [`Stream::gray_dc_region`]).
    gray_dc_quant: Option<u16>,
    /// Per scan component.
    dc: Vec<Rc<Tables>>,
    ac: Vec<Rc<Tables>>,
    layout: Layout,
}

/// SOF facts: (offset of the height field, width, height, components as (id, h, v, tq)).
type Frame = (usize, u32, u32, Vec<(u8, u8, u8, u8)>);

fn be16(d: &[u8], p: usize) -> Option<usize> {
    Some(usize::from(u16::from_be_bytes([
        *d.get(p)?,
        *d.get(p + 1)?,
    ])))
}

impl Stream {
    /// Parse the headers up to the first SOS; `None` unless the file is of the supported kind.
    pub fn parse(data: &[u8]) -> Option<Stream> {
        if data.get(..2)? != [0xFF, 0xD8] {
            return None;
        }
        let mut pos = 2;
        let mut specs: [Option<HuffSpec>; 8] = Default::default(); // class*4 + id
        let mut frame: Option<Frame> = None;
        let mut quant0: [Option<u16>; 4] = [None; 4]; // DC quantizer of each table
        loop {
            // Markers here are 0xFF fill bytes then a code.
            if *data.get(pos)? != 0xFF {
                return None;
            }
            while *data.get(pos)? == 0xFF {
                pos += 1;
            }
            let marker = *data.get(pos)?;
            pos += 1;
            let len = be16(data, pos)?;
            let body = data.get(pos + 2..pos + len)?;
            match marker {
                0xC0 | 0xC1 => {
                    if frame.is_some() || *body.first()? != 8 {
                        return None;
                    }
                    let h = be16(body, 1)? as u32;
                    let w = be16(body, 3)? as u32;
                    let nf = usize::from(*body.get(5)?);
                    if w == 0 || h == 0 || nf == 0 || body.len() != 6 + 3 * nf {
                        return None;
                    }
                    let comps = (0..nf)
                        .map(|i| {
                            let b = &body[6 + 3 * i..9 + 3 * i];
                            (b[0], b[1] >> 4, b[1] & 15, b[2])
                        })
                        .collect::<Vec<_>>();
                    // Table ids past 3 are libjpeg errors: leave them to libjpeg.
                    if comps.iter().any(|&(_, hs, vs, tq)| {
                        !(1..=4).contains(&hs) || !(1..=4).contains(&vs) || tq > 3
                    }) {
                        return None;
                    }
                    frame = Some((pos + 3, w, h, comps));
                }
                0xC2..=0xCF if marker != 0xC4 && marker != 0xC8 && marker != 0xCC => return None,
                0xC8 | 0xCC => return None, // JPG extension, arithmetic conditioning
                0xDB => {
                    let mut p = 0;
                    while p < body.len() {
                        let (pq, tq) = (body[p] >> 4, usize::from(body[p] & 15));
                        if tq > 3 {
                            return None;
                        }
                        let n = if pq == 0 { 64 } else { 128 };
                        let q = body.get(p + 1..p + 1 + n)?;
                        quant0[tq] = Some(if pq == 0 {
                            u16::from(q[0])
                        } else {
                            u16::from_be_bytes([q[0], q[1]])
                        });
                        p += 1 + n;
                    }
                }
                // DRI with restart markers: not handled here.
                0xDD if be16(body, 0)? != 0 => return None,
                0xC4 => {
                    let mut p = 0;
                    while p < body.len() {
                        let tc = body[p] >> 4;
                        let th = body[p] & 15;
                        if tc > 1 || th > 3 {
                            return None;
                        }
                        let counts: [u8; 16] = body.get(p + 1..p + 17)?.try_into().ok()?;
                        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
                        let symbols = body.get(p + 17..p + 17 + total)?.to_vec();
                        specs[usize::from(tc) * 4 + usize::from(th)] =
                            Some(HuffSpec { counts, symbols });
                        p += 17 + total;
                    }
                }
                0xDA => {
                    let (hfield, w, h, comps) = frame?;
                    let ns = usize::from(*body.first()?);
                    if ns != comps.len() || body.len() != 4 + 2 * ns {
                        return None;
                    }
                    let (ss, se, a) = (body[1 + 2 * ns], body[2 + 2 * ns], body[3 + 2 * ns]);
                    if ss != 0 || se != 63 || a != 0 {
                        return None;
                    }
                    let mut dc = Vec::new();
                    let mut ac = Vec::new();
                    let mut order = Vec::new(); // frame index per scan component
                    for i in 0..ns {
                        let id = body[1 + 2 * i];
                        let t = body[2 + 2 * i];
                        let (td, ta) = (usize::from(t >> 4), usize::from(t & 15));
                        if td > 3 || ta > 3 {
                            return None; // libjpeg: "Huffman table 0x.. was not defined"
                        }
                        let fi = comps.iter().position(|c| c.0 == id)?;
                        if order.contains(&fi) {
                            return None;
                        }
                        order.push(fi);
                        dc.push(tables(specs[td].as_ref()?, false)?);
                        ac.push(tables(specs[4 + ta].as_ref()?, true)?);
                    }
                    let hmax = comps.iter().map(|c| u32::from(c.1)).max()?;
                    let vmax = comps.iter().map(|c| u32::from(c.2)).max()?;
                    let layout = if ns == 1 {
                        // Non-interleaved (one component): an MCU is one block, an iMCU row
                        // is v block rows of ceil(component width / 8) blocks.
                        let (_, hs, vs, _) = comps[order[0]];
                        let cw = (w * u32::from(hs)).div_ceil(hmax);
                        let ch = (h * u32::from(vs)).div_ceil(vmax);
                        let v = usize::from(vs);
                        Layout {
                            blocks: vec![(order[0], 0, 0)],
                            mcus_per_row: cw.div_ceil(8) as usize * v,
                            rows: (ch.div_ceil(8) as usize).div_ceil(v),
                            row_height: 8 * vmax,
                            units: ch.div_ceil(8) as usize,
                            unit_mcus: cw.div_ceil(8) as usize,
                            unit_height: 8 * vmax / u32::from(vs),
                            mcu_width: 8 * hmax / u32::from(hs),
                        }
                    } else {
                        let mut blocks = Vec::new();
                        for (si, &fi) in order.iter().enumerate() {
                            let (_, hs, vs, _) = comps[fi];
                            for _ in 0..u32::from(hs) * u32::from(vs) {
                                blocks.push((fi, si, si));
                            }
                        }
                        if blocks.len() > 10 {
                            return None;
                        }
                        Layout {
                            blocks,
                            mcus_per_row: w.div_ceil(8 * hmax) as usize,
                            rows: h.div_ceil(8 * vmax) as usize,
                            row_height: 8 * vmax,
                            units: h.div_ceil(8 * vmax) as usize,
                            unit_mcus: w.div_ceil(8 * hmax) as usize,
                            unit_height: 8 * vmax,
                            mcu_width: 8 * hmax,
                        }
                    };
                    return Some(Stream {
                        scan_start: pos + len,
                        sof_height_at: hfield,
                        width: w,
                        height: h,
                        ncomp: comps.len(),
                        gray_dc_quant: if comps.len() == 1 {
                            quant0[usize::from(comps[0].3)]
                        } else {
                            None
                        },
                        dc,
                        ac,
                        layout,
                    });
                }
                0xD8 | 0xD9 | 0x01 | 0xD0..=0xD7 => return None,
                _ => {} // APPn, COM, DQT, DAC...
            }
            pos += len;
        }
    }

    /// Pixel rows per iMCU row.
    pub fn row_height(&self) -> u32 {
        self.layout.row_height
    }

    /// Skip iMCU rows `0..rows`: the raw position of the first bit of row `rows` and the DC
    /// predictors there (per frame component). `None` on any surprise in the data.
    ///
    /// The bit reader's state is kept in locals (registers) in the hot loop; the rare paths
    /// (slow refill, codes longer than `LUT_BITS`) are functions of it.
    fn skip(&self, data: &[u8], rows: usize) -> Option<((usize, u32), Vec<i32>)> {
        self.walk(
            data,
            rows * self.layout.mcus_per_row,
            &[],
            |_, _, _| {},
            |_, _| {},
        )
    }

    /// Parse the first `mcus` MCUs, calling `on_block(i, dc)` with each block's index (in
    /// scan order) and DC coefficient, and `on_mark(j, position, predictors)` when MCU
    /// `marks[j]` (ascending, `mcus` at most) is about to be parsed; then as [`Stream::skip`].
    #[inline(always)]
    fn walk(
        &self,
        data: &[u8],
        mcus: usize,
        marks: &[usize],
        mut on_mark: impl FnMut(usize, (usize, u32), &[i32]),
        mut on_block: impl FnMut(usize, i32),
    ) -> Option<((usize, u32), Vec<i32>)> {
        let mut pos = self.scan_start;
        let mut block = 0usize;
        let mut buf = 0u64;
        let mut n = 0u32;
        let mut ended = false;
        // Zero bits fed after a marker / the end: all still unread while `n >= fed`.
        let mut fed = 0u32;
        let mut pred = vec![0i32; self.ncomp];
        let blocks = &self.layout.blocks;
        macro_rules! refill {
            () => {
                if n < 32 {
                    let fast = match data.get(pos..pos + 8) {
                        Some(w) => {
                            let word = u64::from_be_bytes(w.try_into().unwrap_or([0xFF; 8]));
                            let inv = !word;
                            if (inv.wrapping_sub(ONES) & !inv & HIGHS) == 0 {
                                // No 0xFF among the next 8 bytes: take the whole bytes that fit.
                                let k = (63 - n) >> 3;
                                buf |= word >> n;
                                n += k << 3;
                                pos += k as usize;
                                true
                            } else {
                                false
                            }
                        }
                        None => false,
                    };
                    if !fast {
                        (buf, n) = refill_slow(data, &mut pos, &mut ended, &mut fed, buf, n);
                    }
                }
            };
        }
        let mut next_mark = 0usize;
        for mcu in 0..mcus {
            while marks.get(next_mark) == Some(&mcu) {
                if ended && n < fed {
                    return None;
                }
                let real = if ended { n - fed } else { n };
                on_mark(next_mark, position(data, pos, real), &pred);
                next_mark += 1;
            }
            for &(fi, si, _) in blocks {
                let (dc, ac) = (&self.dc[si].huff, &self.ac[si].huff);
                let acs: &[u32; LUT_SIZE] = self.ac[si].skip.as_deref()?;
                refill!();
                let (l, sym) = lookup(dc, buf)?;
                buf <<= l;
                n -= l;
                let s = u32::from(sym);
                if s > 11 {
                    return None;
                }
                if s > 0 {
                    let v = (buf >> (64 - s)) as u32;
                    buf <<= s;
                    n -= s;
                    pred[fi] = pred[fi].wrapping_add(extend(v, s));
                }
                on_block(block, pred[fi]);
                block += 1;
                // AC coefficients: parsed, not kept (a run past 63 ends the block, as in
                // libjpeg).
                let mut k = 1u32;
                while k < 64 {
                    refill!();
                    let e = acs[(buf >> (64 - LUT_BITS)) as usize & (LUT_SIZE - 1)];
                    if e != 0 {
                        let inc = (e >> 24) & 0x7F;
                        if k + inc < 64 {
                            // Several symbols at once, all inside this block.
                            let l = (e >> 16) & 0xFF;
                            buf <<= l;
                            n -= l;
                            k += inc;
                            if e >> 31 != 0 {
                                break;
                            }
                        } else {
                            let l = e & 0xFF;
                            buf <<= l;
                            n -= l;
                            k += (e >> 8) & 0xFF;
                        }
                        continue;
                    }
                    let (l, sym) = lookup(ac, buf)?;
                    let (r, s) = (u32::from(sym >> 4), u32::from(sym & 15));
                    buf <<= l;
                    n -= l;
                    if s == 0 {
                        if r != 15 {
                            break;
                        }
                        k += 16;
                    } else {
                        buf <<= s;
                        n -= s;
                        k += r + 1;
                    }
                }
            }
            if ended && n < fed {
                return None; // parsed past the end of the scan's data
            }
        }
        if ended && n < fed {
            return None;
        }
        // The fed zeros are the last bits of the buffer and come from no byte.
        let real = if ended { n - fed } else { n };
        let end = position(data, pos, real);
        while marks.get(next_mark) == Some(&mcus) {
            on_mark(next_mark, end, &pred);
            next_mark += 1;
        }
        if next_mark != marks.len() {
            return None; // marks not ascending or past the end: a caller bug, not data
        }
        Some((end, pred))
    }

    /// For one-component files at scale 1/8, where every output pixel is one block's DC value
    /// (libjpeg's 1x1 "IDCT": `(DC * q + 4) >> 3`, through its range-limit table): the
    /// scaled region `r` computed straight from the DC coefficients, parsing the scan only
    /// down to the region's last block row. The same pixels as libjpeg's (see the tests);
    /// `None` when not applicable or on any surprise in the data.
    pub fn gray_dc_region(&self, data: &[u8], r: crate::image::Rect) -> Option<Vec<u8>> {
        let q = i32::from(self.gray_dc_quant?);
        if self.ncomp != 1 || self.layout.blocks.len() != 1 {
            return None;
        }
        let v = (self.layout.row_height / 8) as usize; // block rows per iMCU row
        let bw = self.layout.mcus_per_row / v; // blocks per block row
        let (x0, y0) = (r.x as usize, r.y as usize);
        let (w, h) = (r.width as usize, r.height as usize);
        if x0 + w > bw || w == 0 || h == 0 {
            return None;
        }
        // libjpeg's post-IDCT range limit: x & 1023 -> [0..128) x + 128, [128..512) 255,
        // [512..896) 0, [896..1024) x - 896.
        let mut limit = [0u8; 1024];
        for (i, l) in limit.iter_mut().enumerate() {
            *l = match i {
                0..=127 => (i + 128) as u8,
                128..=511 => 255,
                512..=895 => 0,
                _ => (i - 896) as u8,
            };
        }
        let mut out = vec![0u8; w * h];
        let first = y0 * bw;
        let end = (y0 + h) * bw; // blocks to parse
        self.walk(
            data,
            end,
            &[],
            |_, _, _| {},
            |i, dc| {
                if i >= first {
                    let (row, col) = ((i - first) / bw, (i - first) % bw);
                    if col >= x0 && col < x0 + w {
                        let val = (dc.wrapping_mul(q) + 4) >> 3;
                        out[row * w + col - x0] = limit[(val & 1023) as usize];
                    }
                }
            },
        )?;
        Some(out)
    }

    /// A stream equal to the original from iMCU row `rows` on, behind one synthetic iMCU row
    /// (so its rows are the original's shifted by `rows - 1` iMCU rows). `None` when this
    /// cannot be done exactly (the caller then decodes the original).
    pub fn splice(&self, data: &[u8], rows: usize) -> Option<Vec<u8>> {
        if rows == 0 || rows >= self.layout.rows {
            return None;
        }
        let ((byte, bit), pred) = self.skip(data, rows)?;
        let mut w = BitWriter::default();
        self.synthetic_row(&pred, bit, &mut w)?;
        // The synthetic bits end at bit `bit` of their last byte; the original's byte
        // `byte` supplies the rest of it.
        let mut out =
            Vec::with_capacity(self.scan_start + (data.len() - byte) + w.bytes.len() + 16);
        out.extend_from_slice(&data[..self.scan_start]);
        let new_height = self.height - (rows as u32 - 1) * self.layout.row_height;
        out[self.sof_height_at..self.sof_height_at + 2]
            .copy_from_slice(&u16::try_from(new_height).ok()?.to_be_bytes());
        let mut rest = byte;
        if bit > 0 {
            let orig = data[byte];
            let merged = w.partial | (orig & ((1u16 << (8 - bit)) - 1) as u8);
            w.push_byte(merged);
            rest += if orig == 0xFF { 2 } else { 1 };
        } else if w.nbits != 0 {
            return None;
        }
        out.extend_from_slice(&w.bytes);
        out.extend_from_slice(data.get(rest..)?);
        Some(out)
    }

    /// Rows of MCUs in scan order ([`Stream::narrow`]'s unit): their count, pixel height, and
    /// the MCUs (columns) in each and their pixel width.
    pub fn units(&self) -> (usize, u32, usize, u32) {
        let l = &self.layout;
        (l.units, l.unit_height, l.unit_mcus, l.mcu_width)
    }

    /// A smaller file holding only MCU rows `u0..u_end` and MCU columns `c0..c1` of the
    /// original (rows and columns as [`Stream::units`] counts them), bit for bit, plus one
    /// synthetic MCU per row: on the left (before `c0`) when `c0 > 0`, else on the right
    /// (after `c1 - 1`; then `c1` must be less than the row's MCUs). It carries the DC
    /// predictors from where one kept row ends to where the next begins (the only state a
    /// baseline decoder carries between MCUs), so every kept block decodes to its original
    /// coefficients. With the synthetic column on the right and `u0 > 0`, one synthetic row
    /// on top sets the first row's predictors. Returns the file and the synthetic rows on top
    /// (0 or 1).
    ///
    /// Why our own: libjpeg decodes (Huffman) every block of every row above and beside a
    /// region; a 256x256 window of a 4000-pixel-wide file needs 6% of the blocks of its rows.
    /// Our parse finds the kept rows' bit positions faster than libjpeg decodes, and libjpeg
    /// then decodes only the kept blocks. The synthetic column changes the pixels of the
    /// kept MCU next to it (upsampling context), so callers keep one MCU of margin there,
    /// and one row of margin above and below (as [`Stream::splice`]).
    /// `None` when not exact or not applicable (the caller decodes the original).
    ///
    /// One-component files may group `v` block rows into an iMCU row; the narrow file's
    /// grouping can differ, which changes no pixel (gray: no upsampling, IDCT per block).
    pub fn narrow(
        &self,
        data: &[u8],
        u0: usize,
        u_end: usize,
        c0: usize,
        c1: usize,
    ) -> Option<(Vec<u8>, u32)> {
        let l = &self.layout;
        let um = l.unit_mcus;
        if u0 >= u_end || u_end > l.units || c0 >= c1 || c1 > um || (c0 == 0 && c1 == um) {
            return None;
        }
        let left = c0 > 0;
        // Ascending: u * um + c1 < (u + 1) * um + c0 unless c0 == 0 and c1 == um.
        let mut marks = Vec::with_capacity(2 * (u_end - u0) + 1);
        for u in u0..u_end {
            marks.push(u * um + c0);
            marks.push(u * um + c1);
        }
        if !left {
            // The synthetic MCU after row u leads to the predictors at the start of row u + 1.
            marks.push(u_end * um);
        }
        let mut pos = vec![(0usize, 0u32); marks.len()];
        let nc = self.ncomp;
        let mut preds = vec![0i32; marks.len() * nc];
        self.walk(
            data,
            u_end * um,
            &marks,
            |j, p, pred| {
                pos[j] = p;
                preds[j * nc..(j + 1) * nc].copy_from_slice(pred);
            },
            |_, _| {},
        )?;
        let new_w = if c1 == um {
            self.width - (c0 as u32) * l.mcu_width
        } else {
            (c1 - c0) as u32 * l.mcu_width
        } + l.mcu_width;
        let top = u32::from(!left && u0 > 0);
        let new_h = if u_end == l.units {
            self.height - u0 as u32 * l.unit_height
        } else {
            (u_end - u0) as u32 * l.unit_height
        } + top * l.unit_height;
        let mut out = Vec::with_capacity(self.scan_start + 4096);
        out.extend_from_slice(&data[..self.scan_start]);
        let at = self.sof_height_at;
        out[at..at + 2].copy_from_slice(&u16::try_from(new_h).ok()?.to_be_bytes());
        out[at + 2..at + 4].copy_from_slice(&u16::try_from(new_w).ok()?.to_be_bytes());
        let mut w = BitWriter {
            bytes: out,
            ..BitWriter::default()
        };
        let mut carried = vec![0i32; nc]; // the narrow file's predictors so far
        if top > 0 {
            self.synthetic_mcu(&carried, &preds[..nc], &mut w)?;
            for _ in c0..c1 {
                self.synthetic_mcu(&preds[..nc], &preds[..nc], &mut w)?;
            }
        }
        for k in 0..u_end - u0 {
            let (start, end) = (pos[2 * k], pos[2 * k + 1]);
            if left {
                self.synthetic_mcu(&carried, &preds[2 * k * nc..(2 * k + 1) * nc], &mut w)?;
                copy_bits(data, start, end, &mut w)?;
                carried.copy_from_slice(&preds[(2 * k + 1) * nc..(2 * k + 2) * nc]);
            } else {
                copy_bits(data, start, end, &mut w)?;
                let next = &preds[(2 * k + 2) * nc..(2 * k + 3) * nc];
                self.synthetic_mcu(&preds[(2 * k + 1) * nc..(2 * k + 2) * nc], next, &mut w)?;
            }
        }
        // Pad the last byte with ones (as encoders do), then EOI.
        if w.nbits > 0 {
            let fill = 8 - w.nbits;
            w.put((1 << fill) - 1, fill);
        }
        let mut out = w.bytes;
        out.extend_from_slice(&[0xFF, 0xD9]);
        Some((out, top))
    }

    /// One MCU of blocks without AC coefficients whose DC differences take the predictors
    /// from `from` to `to`.
    fn synthetic_mcu(&self, from: &[i32], to: &[i32], w: &mut BitWriter) -> Option<()> {
        let mut remaining: Vec<i32> = to.iter().zip(from).map(|(t, f)| t - f).collect();
        for &(fi, si, _) in &self.layout.blocks {
            let dc = &self.dc[si].huff;
            let d = pick_diff(dc, remaining[fi])?;
            remaining[fi] -= d;
            put_dc(w, dc, d)?;
            let (code, l) = self.ac[si].huff.enc[0];
            if l == 0 {
                return None;
            }
            w.put(u32::from(code), u32::from(l));
        }
        remaining.iter().all(|&r| r == 0).then_some(())
    }

    /// One iMCU row of blocks without AC coefficients, setting the DC predictors to `pred`,
    /// `bit` mod 8 bits long (plus whole bytes).
    fn synthetic_row(&self, pred: &[i32], bit: u32, w: &mut BitWriter) -> Option<()> {
        let blocks = &self.layout.blocks;
        let n_mcus = self.layout.mcus_per_row;
        // DC differences, per block in order: walk each component's predictor from 0 to its
        // target with the categories its DC table has.
        let mut remaining: Vec<i32> = vec![0; self.ncomp];
        for (fi, r) in remaining.iter_mut().enumerate() {
            *r = pred[fi];
        }
        let mut diffs = Vec::with_capacity(n_mcus * blocks.len());
        for _ in 0..n_mcus {
            for &(fi, si, _) in blocks {
                let d = pick_diff(&self.dc[si].huff, remaining[fi])?;
                remaining[fi] -= d;
                diffs.push(d);
            }
        }
        if remaining.iter().any(|&r| r != 0) {
            return None;
        }
        // Length: every block is DC code + magnitude + EOB.
        let mut len: u64 = 0;
        let mut i = 0;
        for _ in 0..n_mcus {
            for &(_, si, _) in blocks {
                let s = category(diffs[i]);
                len += u64::from(self.dc[si].huff.enc[s as usize].1) + u64::from(s);
                len += u64::from(self.ac[si].huff.enc[0].1);
                i += 1;
            }
        }
        // Pad with AC coefficients in the first block (run 0, sizes the table has) so that
        // the length is `bit` mod 8.
        let si0 = blocks[0].1;
        let need = ((u64::from(bit) + 64 - len % 8) % 8) as u32;
        let pads = pad_plan(&self.ac[si0].huff, need)?;
        if self.ac[si0].huff.enc[0].1 == 0 {
            return None; // no EOB code
        }
        let mut i = 0;
        for m in 0..n_mcus {
            for (b, &(_, si, _)) in blocks.iter().enumerate() {
                let d = diffs[i];
                i += 1;
                put_dc(w, &self.dc[si].huff, d)?;
                if m == 0 && b == 0 {
                    for &s in &pads {
                        let (code, l) = self.ac[si].huff.enc[s as usize];
                        w.put(u32::from(code), u32::from(l));
                        let s = u32::from(s);
                        w.put(1 << (s - 1), s); // any value of that size
                    }
                }
                let (code, l) = self.ac[si].huff.enc[0];
                if l == 0 {
                    return None;
                }
                w.put(u32::from(code), u32::from(l));
            }
        }
        if w.nbits != bit {
            return None;
        }
        Some(())
    }
}

/// Copy the entropy-coded bits from raw position `from` up to (not including) `to` (both as
/// [`position`] gives them), unstuffing and restuffing 0xFF.
fn copy_bits(data: &[u8], from: (usize, u32), to: (usize, u32), w: &mut BitWriter) -> Option<()> {
    let (mut p, mut bit) = from;
    while p < to.0 {
        // Four whole bytes without 0xFF (no stuffing to undo): one write.
        if bit == 0 && p + 4 <= to.0 {
            let w4: [u8; 4] = data.get(p..p + 4)?.try_into().ok()?;
            if !w4.contains(&0xFF) {
                w.put(u32::from_be_bytes(w4), 32);
                p += 4;
                continue;
            }
        }
        let b = *data.get(p)?;
        let n = 8 - bit;
        w.put(u32::from(b) & ((1 << n) - 1), n);
        p += 1;
        if b == 0xFF {
            if data.get(p) != Some(&0) {
                return None;
            }
            p += 1;
        }
        bit = 0;
    }
    if p != to.0 {
        return None;
    }
    if to.1 > bit {
        let b = u32::from(*data.get(p)?);
        let n = to.1 - bit;
        w.put((b >> (8 - to.1)) & ((1 << n) - 1), n);
    }
    Some(())
}

/// Write the DC difference `d`: its category's code, then its magnitude bits. `None` when
/// the table has no code for that category.
fn put_dc(w: &mut BitWriter, dc: &Huff, d: i32) -> Option<()> {
    let s = category(d);
    let (code, l) = dc.enc[s as usize];
    if l == 0 {
        return None;
    }
    w.put(u32::from(code), u32::from(l));
    if s > 0 {
        let v = if d < 0 { (d - 1) as u32 } else { d as u32 };
        w.put(v & ((1 << s) - 1), s);
    }
    Some(())
}

fn category(d: i32) -> u32 {
    32 - d.unsigned_abs().leading_zeros()
}

/// A DC difference of a category the table has, moving `remaining` towards 0 (all of it
/// when possible).
fn pick_diff(dc: &Huff, remaining: i32) -> Option<i32> {
    if remaining == 0 {
        return if dc.enc[0].1 != 0 { Some(0) } else { None };
    }
    let mag = remaining.unsigned_abs();
    let c = category(remaining);
    // The largest available category <= c; within it, as much as possible.
    for s in (1..=c.min(11)).rev() {
        if dc.enc[s as usize].1 != 0 {
            let m = mag.min((1 << s) - 1);
            return Some(if remaining < 0 { -(m as i32) } else { m as i32 });
        }
    }
    // Only larger categories: overshoot is not allowed (predictors are exact), give up.
    None
}

/// AC symbols `0x0s` (run 0, size s) whose total lengths add up to `need` mod 8.
fn pad_plan(ac: &Huff, need: u32) -> Option<Vec<u8>> {
    if need == 0 {
        return Some(Vec::new());
    }
    // Breadth-first over residues with at most 8 symbols (they go into one block: k <= 8).
    let opts: Vec<(u8, u32)> = (1..=10u8)
        .filter(|&s| ac.enc[usize::from(s)].1 != 0)
        .map(|s| (s, (u32::from(ac.enc[usize::from(s)].1) + u32::from(s)) % 8))
        .collect();
    let mut best: [Option<Vec<u8>>; 8] = Default::default();
    best[0] = Some(Vec::new());
    for _ in 0..8 {
        let snapshot = best.clone();
        for (r, path) in snapshot.iter().enumerate() {
            let Some(path) = path else { continue };
            if path.len() >= 8 {
                continue;
            }
            for &(s, inc) in &opts {
                let nr = (r as u32 + inc) as usize % 8;
                if best[nr].is_none() {
                    let mut p = path.clone();
                    p.push(s);
                    best[nr] = Some(p);
                }
            }
        }
        if best[need as usize].is_some() {
            break;
        }
    }
    best[need as usize].take()
}

/// MSB-first bit writer with 0xFF stuffing; `partial` holds the last incomplete byte.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    partial: u8,
    nbits: u32,
}

impl BitWriter {
    /// Append the low `n` (<= 32) bits of `v`, most significant first.
    fn put(&mut self, v: u32, n: u32) {
        debug_assert!(n <= 32 && self.nbits < 8);
        let total = self.nbits + n; // <= 39
        let acc = ((u64::from(self.partial) >> (8 - self.nbits)) << n)
            | (u64::from(v) & ((1u64 << n) - 1));
        let (whole, rem) = ((total / 8) as usize, total % 8);
        let be = (acc >> rem).to_be_bytes();
        let done = &be[8 - whole..];
        if done.contains(&0xFF) {
            for &b in done {
                self.push_byte(b);
            }
        } else {
            self.bytes.extend_from_slice(done);
        }
        self.partial = ((acc & ((1u64 << rem) - 1)) << (8 - rem)) as u8;
        self.nbits = rem;
    }
    fn push_byte(&mut self, b: u8) {
        self.bytes.push(b);
        if b == 0xFF {
            self.bytes.push(0x00);
        }
    }
}
