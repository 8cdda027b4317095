/* A faster MCU decoder for baseline Huffman JPEGs, plugged into libjpeg-turbo.
 *
 * Why our own: libjpeg-turbo's entropy decoder is most of a decode's time on
 * photos (65% of a 500x375 q90 decode here). Its fast path looks a code up in
 * an 8-bit table, then fetches and sign-extends the coefficient's magnitude
 * bits separately. Ours looks up 12 bits that usually hold the code *and* its
 * magnitude bits: one table read gives the bits to drop, the zero run and the
 * sign-extended coefficient (the technique of stb_image's "fast AC" tables).
 *
 * It is installed as cinfo->entropy->decode_mcu after jpeg_start_decompress,
 * and libjpeg's own state stays the only state: each call loads libjpeg's bit
 * buffer, source position and DC predictors, decodes one MCU, and stores them
 * back only on success. Anything unusual (a marker in the data, a code longer
 * than 16 bits, a short buffer, restart intervals) hands the MCU, unchanged
 * state and zeroed blocks, to libjpeg's decode_mcu, so errors, warnings and
 * the end-of-data behaviour are libjpeg's own. A code that matches no table
 * (corrupt data) is one of those: libjpeg then decodes the MCU on its checking
 * path, which reports it (see the fallback).
 *
 * The two structs below mirror libjpeg-turbo 3.1's jpegint.h and jdhuff.c
 * (private: the version is pinned by Cargo.lock's turbojpeg-sys 1.2.0); the
 * tests decode every format variant and compare with Pillow pixel for pixel.
 */
#include <stdint.h>
#include <stdio.h> /* jpeglib.h needs FILE */
#include <stdlib.h>
#include <string.h>

#include "jpeglib.h"

/* build.rs compiles this file once per CPU level, each with its own name for
 * the entry point (PF_HUFF_NAME, e.g. pf_huff_install_v3); jpeg_huff_dispatch.c
 * picks one at run time. */
#ifdef PF_HUFF_NAME
#define pf_huff_install PF_HUFF_NAME
#endif
int pf_huff_install(j_decompress_ptr cinfo);
/* jpeg_shim.c's source manager: hand libjpeg at most a few bytes at a time (on)
 * or all the rest (off); returns the previous setting. */
int pf_src_chunked(j_decompress_ptr cinfo, int on);

/* ---- mirrors of libjpeg-turbo 3.1 internals ---- */
struct jpeg_entropy_decoder {
  void (*start_pass)(j_decompress_ptr cinfo);
  boolean (*decode_mcu)(j_decompress_ptr cinfo, JBLOCKROW *MCU_data);
  void *decode_mcus;     /* lossless mode */
  void *process_restart; /* boolean (*)(j_decompress_ptr) */
  boolean insufficient_data;
};

typedef struct {
  struct jpeg_entropy_decoder pub;
  struct {
    size_t get_buffer; /* bits_left valid bits, right-aligned */
    int bits_left;
  } bitstate;
  struct {
    int last_dc_val[MAX_COMPS_IN_SCAN];
  } saved;
  unsigned int restarts_to_go;
  void *dc_derived_tbls[NUM_HUFF_TBLS];
  void *ac_derived_tbls[NUM_HUFF_TBLS];
  void *dc_cur_tbls[D_MAX_BLOCKS_IN_MCU];
  void *ac_cur_tbls[D_MAX_BLOCKS_IN_MCU];
  boolean dc_needed[D_MAX_BLOCKS_IN_MCU];
  boolean ac_needed[D_MAX_BLOCKS_IN_MCU];
} lj_huff_entropy;

/* ---- tables ---- */
#define PF_LUT_BITS 12
#define PF_LUT_SIZE (1 << PF_LUT_BITS)

typedef struct {
  /* Combined: bits 0-7 bits to drop (0: not resolvable here; at most 12, so
   * the decoder masks with 63, which a 64-bit shift does for free), 8-15 zero run + 1
   * (AC; 64 = end of block; a ZRL is 16 with coefficient 0), 16-31 the
   * sign-extended coefficient. */
  int32_t fast[PF_LUT_SIZE];
  /* Code only: (length << 8) | symbol, 0 when longer than PF_LUT_BITS. */
  uint16_t code[PF_LUT_SIZE];
  int32_t maxcode[18]; /* largest code of each length, -1 if none; [17] sentinel */
  int32_t valoff[17];
  uint8_t huffval[256];
  uint8_t bits[17];
  uint8_t is_dc;
} pf_huff_table;

static int32_t pf_extend(int32_t v, int s)
{
  return v < (1 << (s - 1)) ? v - (1 << s) + 1 : v;
}

/* Build from a DHT table; 0 when it is not a valid canonical code. */
static int pf_build(pf_huff_table *t, const JHUFF_TBL *h, int is_dc)
{
  int l, i, k = 0, total = 0;
  int32_t code = 0;
  memset(t->code, 0, sizeof(t->code));
  memset(t->fast, 0, sizeof(t->fast));
  memcpy(t->bits, h->bits, 17);
  memcpy(t->huffval, h->huffval, 256);
  t->is_dc = (uint8_t)is_dc;
  for (l = 1; l <= 16; l++)
    total += h->bits[l];
  if (total > 256)
    return 0;
  for (l = 1; l <= 16; l++) {
    int n = h->bits[l];
    t->valoff[l] = k - code;
    for (i = 0; i < n; i++, k++, code++) {
      if (code >= (1 << l))
        return 0; /* over-subscribed */
      if (l <= PF_LUT_BITS) {
        int shift = PF_LUT_BITS - l, j;
        int base = code << shift;
        for (j = 0; j < (1 << shift); j++)
          t->code[base + j] = (uint16_t)((l << 8) | h->huffval[k]);
      }
    }
    t->maxcode[l] = n ? code - 1 : -1;
    code <<= 1;
  }
  t->maxcode[17] = INT32_MAX;
  /* Combined entries where the code and its magnitude bits fit. */
  for (i = 0; i < PF_LUT_SIZE; i++) {
    int e = t->code[i], len, sym, r, s;
    if (e == 0)
      continue;
    len = e >> 8;
    sym = e & 0xFF;
    if (is_dc) {
      r = 0;
      s = sym;
      if (s > 15)
        continue;
    } else {
      r = sym >> 4;
      s = sym & 15;
    }
    if (s == 0) {
      if (is_dc)
        t->fast[i] = len | (1 << 8); /* DC difference 0 */
      else if (r == 15)
        t->fast[i] = len | (16 << 8); /* ZRL */
      else
        t->fast[i] = len | (64 << 8); /* end of block */
    } else if (len + s <= PF_LUT_BITS) {
      int32_t v = (i >> (PF_LUT_BITS - len - s)) & ((1 << s) - 1);
      t->fast[i] = (len + s) | ((r + 1) << 8) | (int32_t)((uint32_t)pf_extend(v, s) << 16);
    }
  }
  return 1;
}

/* Tables recently built on this thread: most files share libjpeg's standard
 * tables, and building costs more than decoding a small image's worth of MCUs. */
#define PF_CACHE 8
static __thread pf_huff_table *pf_cache[PF_CACHE];
static __thread int pf_cache_next;

static const pf_huff_table *pf_table(const JHUFF_TBL *h, int is_dc)
{
  int i;
  pf_huff_table *t;
  if (h == NULL)
    return NULL;
  for (i = 0; i < PF_CACHE; i++) {
    t = pf_cache[i];
    if (t != NULL && t->is_dc == is_dc && memcmp(t->bits, h->bits, 17) == 0 &&
        memcmp(t->huffval, h->huffval, 256) == 0)
      return t;
  }
  i = pf_cache_next;
  pf_cache_next = (pf_cache_next + 1) % PF_CACHE;
  t = pf_cache[i];
  if (t == NULL) {
    /* Thread-lifetime allocation (a few per thread, reused). */
    t = (pf_huff_table *)malloc(sizeof(pf_huff_table));
    if (t == NULL)
      return NULL;
    pf_cache[i] = t;
  }
  if (!pf_build(t, h, is_dc)) {
    t->is_dc = 2; /* never matches */
    return NULL;
  }
  return t;
}

/* ---- the decoder ---- */
typedef struct {
  boolean (*orig)(j_decompress_ptr cinfo, JBLOCKROW *MCU_data);
  const pf_huff_table *dc[D_MAX_BLOCKS_IN_MCU];
  const pf_huff_table *ac[D_MAX_BLOCKS_IN_MCU];
  int comp[D_MAX_BLOCKS_IN_MCU];
} pf_huff_state;

static const int pf_natural[64 + 16] = {
  0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,
  12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6,  7,  14, 21, 28,
  35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
  58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
  63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63};

/* Symbol and code length of a code too long for the combined table; -1 when
 * no code matches (corrupt data). `buf` holds >= 16 valid bits, MSB first. */
static int pf_slow_symbol(const pf_huff_table *t, uint64_t buf, int *len)
{
  int l;
  int e = t->code[buf >> (64 - PF_LUT_BITS)];
  if (e != 0) {
    *len = e >> 8;
    return e & 0xFF;
  }
  for (l = PF_LUT_BITS + 1; l <= 16; l++) {
    int32_t c = (int32_t)(buf >> (64 - l));
    if (c <= t->maxcode[l]) {
      *len = l;
      return t->huffval[(c + t->valoff[l]) & 0xFF];
    }
  }
  return -1;
}

/* Refill to >= 56 valid bits from whole bytes; 0 at a marker (the caller then
 * hands the MCU to libjpeg). Usually one 8-byte load: when none of the 8 bytes
 * is 0xFF (no stuffing, no marker), they go in at once and as many whole bytes
 * as fit are consumed; the bits of a partly fitting byte land below the valid
 * ones and are ORed in again, identical, by the next refill. Otherwise byte by
 * byte. Either reads at most 17 bytes from p: `limit` is 17 bytes before the
 * end of the buffer. */
#define PF_TAIL 17
static inline int pf_has_ff(uint64_t w)
{
  uint64_t x = ~w; /* a 0xFF byte of w is a zero byte of x */
  return ((x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL) != 0;
}

#define PF_REFILL()                                                     \
  do {                                                                  \
    if (n <= 56) {                                                      \
      uint64_t w_;                                                      \
      if (p > limit)                                                    \
        goto fallback; /* near the end: libjpeg's decoder finishes */   \
      memcpy(&w_, p, 8);                                                \
      if (!pf_has_ff(w_)) {                                             \
        buf |= __builtin_bswap64(w_) >> n;                              \
        p += (63 - n) >> 3;                                             \
        n |= 56;                                                        \
      } else {                                                          \
        while (n <= 56) {                                               \
          unsigned c = *p;                                              \
          if (c == 0xFF) {                                              \
            if (p[1] != 0)                                              \
              goto fallback;                                            \
            p += 2;                                                     \
          } else {                                                      \
            p += 1;                                                     \
          }                                                             \
          buf |= (uint64_t)c << (56 - n);                               \
          n += 8;                                                       \
        }                                                               \
      }                                                                 \
    }                                                                   \
  } while (0)

static boolean pf_decode_mcu(j_decompress_ptr cinfo, JBLOCKROW *MCU_data)
{
  pf_huff_state *st = (pf_huff_state *)cinfo->client_data;
  lj_huff_entropy *ent = (lj_huff_entropy *)cinfo->entropy;
  struct jpeg_source_mgr *src = cinfo->src;
  const JOCTET *p, *start, *limit;
  uint64_t buf;
  int n, blkn, ci;
  int dcv[MAX_COMPS_IN_SCAN];

  /* libjpeg's own conditions for its fast path (no pending marker, data not
   * exhausted), but not its "room for any MCU" (512 bytes a block): the refill
   * checks the room it needs, and the MCU goes to libjpeg when it runs out. */
  if (ent->pub.insufficient_data || cinfo->unread_marker != 0 ||
      src->bytes_in_buffer < PF_TAIL)
    return st->orig(cinfo, MCU_data);

  start = p = src->next_input_byte;
  limit = start + (src->bytes_in_buffer - PF_TAIL);
  n = ent->bitstate.bits_left;
  buf = n > 0 ? (uint64_t)ent->bitstate.get_buffer << (64 - n) : 0;
  for (ci = 0; ci < MAX_COMPS_IN_SCAN; ci++)
    dcv[ci] = ent->saved.last_dc_val[ci];

  for (blkn = 0; blkn < cinfo->blocks_in_MCU; blkn++) {
    JCOEF *block = MCU_data ? (JCOEF *)MCU_data[blkn] : NULL;
    const pf_huff_table *dc = st->dc[blkn], *ac = st->ac[blkn];
    int32_t e, diff;
    int k, len, sym, s;

    /* DC difference */
    PF_REFILL();
    e = dc->fast[buf >> (64 - PF_LUT_BITS)];
    if (e & 63) {
      buf <<= e & 63;
      n -= e & 63;
      diff = e >> 16;
    } else {
      sym = pf_slow_symbol(dc, buf, &len);
      if (sym < 0 || sym > 15)
        goto fallback;
      buf <<= len;
      n -= len;
      diff = 0;
      if (sym) {
        diff = pf_extend((int32_t)(buf >> (64 - sym)), sym);
        buf <<= sym;
        n -= sym;
      }
    }
    if (ent->dc_needed[blkn]) {
      ci = st->comp[blkn];
      dcv[ci] += diff;
      if (block)
        block[0] = (JCOEF)dcv[ci];
    }
    if (!(ent->ac_needed[blkn] && block))
      block = NULL;

    /* AC coefficients, zigzag 1..63 */
    for (k = 1; k < 64;) {
      if (n < 32)
        PF_REFILL();
      e = ac->fast[buf >> (64 - PF_LUT_BITS)];
      if (e & 63) {
        int inc = (e >> 8) & 0xFF;
        buf <<= e & 63;
        n -= e & 63;
        if (inc == 64)
          break; /* end of block */
        k += inc;
        /* A ZRL (16 zeros) stores a 0 into the zeroed block: harmless, and it
         * keeps run-15 coefficients (0xF1..0xFA, also inc 16) on this path. */
        if (block)
          block[pf_natural[k - 1]] = (JCOEF)(e >> 16);
        continue;
      }
      e = ac->code[buf >> (64 - PF_LUT_BITS)];
      if (e != 0) { /* a short code whose magnitude bits do not fit the lookup */
        len = e >> 8;
        sym = e & 0xFF;
      } else {
        sym = pf_slow_symbol(ac, buf, &len);
        if (sym < 0)
          goto fallback;
      }
      buf <<= len;
      n -= len;
      s = sym & 15;
      if (s) {
        int32_t v = pf_extend((int32_t)(buf >> (64 - s)), s);
        buf <<= s;
        n -= s;
        k += sym >> 4;
        if (block)
          block[pf_natural[k]] = (JCOEF)v;
        k++;
      } else {
        if ((sym >> 4) != 15)
          break;
        k += 16;
      }
    }
  }

  /* Commit: libjpeg's state, as its own decoder leaves it. */
  src->bytes_in_buffer -= (size_t)(p - start);
  src->next_input_byte = p;
  ent->bitstate.bits_left = n;
  ent->bitstate.get_buffer = n > 0 ? (size_t)(buf >> (64 - n)) : 0;
  for (ci = 0; ci < MAX_COMPS_IN_SCAN; ci++)
    ent->saved.last_dc_val[ci] = dcv[ci];
  return TRUE;

fallback:
  /* Nothing was committed; libjpeg expects zeroed blocks. libjpeg's decoder
   * takes its fast path when 512 bytes a block are buffered, and that path
   * decodes a code that matches no table (corrupt data) as 0 without a word;
   * its checking path warns (JWRN_HUFF_BAD_CODE), with the same samples. So
   * the MCU goes to libjpeg with the buffer handed out in small pieces, which
   * makes it take the checking path: the verdict is that of libjpeg's checking
   * decoder, and this stays off the hot path (a fallback is rare). */
  if (MCU_data)
    memset(MCU_data[0], 0, (size_t)cinfo->blocks_in_MCU * sizeof(JBLOCK));
  {
    int was = pf_src_chunked(cinfo, 1);
    boolean ok = st->orig(cinfo, MCU_data);
    pf_src_chunked(cinfo, was);
    return ok;
  }
}

/* Install the decoder on a started single-scan baseline/extended Huffman
 * decompressor (after jpeg_start_decompress); 0 when not applicable. Uses
 * cinfo->client_data. */
int pf_huff_install(j_decompress_ptr cinfo)
{
  pf_huff_state *st;
  int blkn;
  /* The caller checked: one scan, Huffman, not lossless. */
  if (cinfo->progressive_mode || cinfo->arith_code || cinfo->restart_interval ||
      cinfo->data_precision != 8 || cinfo->entropy == NULL || cinfo->blocks_in_MCU > D_MAX_BLOCKS_IN_MCU ||
      cinfo->comps_in_scan > MAX_COMPS_IN_SCAN)
    return 0;
  st = (pf_huff_state *)(*cinfo->mem->alloc_small)((j_common_ptr)cinfo, JPOOL_IMAGE,
                                                   sizeof(pf_huff_state));
  for (blkn = 0; blkn < cinfo->blocks_in_MCU; blkn++) {
    int ci = cinfo->MCU_membership[blkn];
    jpeg_component_info *comp = cinfo->cur_comp_info[ci];
    if (comp == NULL || comp->dc_tbl_no < 0 || comp->dc_tbl_no >= NUM_HUFF_TBLS ||
        comp->ac_tbl_no < 0 || comp->ac_tbl_no >= NUM_HUFF_TBLS)
      return 0;
    st->comp[blkn] = ci;
    st->dc[blkn] = pf_table(cinfo->dc_huff_tbl_ptrs[comp->dc_tbl_no], 1);
    st->ac[blkn] = pf_table(cinfo->ac_huff_tbl_ptrs[comp->ac_tbl_no], 0);
    if (st->dc[blkn] == NULL || st->ac[blkn] == NULL)
      return 0;
  }
  /* The tables of one MCU may share cache slots: rebuild lookups last, so no
   * slot was overwritten by a later table of the same MCU. */
  for (blkn = 0; blkn < cinfo->blocks_in_MCU; blkn++) {
    jpeg_component_info *comp = cinfo->cur_comp_info[cinfo->MCU_membership[blkn]];
    if (st->dc[blkn] != pf_table(cinfo->dc_huff_tbl_ptrs[comp->dc_tbl_no], 1) ||
        st->ac[blkn] != pf_table(cinfo->ac_huff_tbl_ptrs[comp->ac_tbl_no], 0))
      return 0;
  }
  st->orig = cinfo->entropy->decode_mcu;
  cinfo->client_data = st;
  cinfo->entropy->decode_mcu = pf_decode_mcu;
  return 1;
}
