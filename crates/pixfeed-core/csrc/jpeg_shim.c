/* pixfeed JPEG decoder shim over libjpeg-turbo's libjpeg API. See jpeg_shim.h.
 *
 * Error handling: libjpeg reports fatal errors through error_exit, which we turn
 * into a longjmp back to pf_jpeg_decode; that frame destroys the decompressor
 * (freeing every libjpeg pool) and returns a code. Nothing is ever printed and
 * nothing calls exit(). Memory that is live at longjmp time comes only from
 * libjpeg's pools (the crop row buffer is JPOOL_IMAGE); the output buffer
 * belongs to the caller.
 *
 * Warnings: libjpeg's corrupt-data warnings (bad Huffman/arithmetic codes,
 * premature end of a data segment, lost restart markers, extraneous bytes before
 * a marker, invalid scan parameters) are errors in strict mode and ignored in
 * lenient mode (as Pillow ignores them); data that ran out before the requested
 * rows is an error in both. Header oddities (unknown JFIF revision, Adobe
 * transform, ICC chunks) are ignored in both.
 *
 * The source manager is our own: it hands libjpeg the whole buffer (as
 * jpeg_mem_src does) or, where the checking path must run, at most PF_CHUNK
 * bytes at a time: libjpeg's Huffman decoder only takes its fast path, which
 * silently decodes a code that matches no table as 0, when 512 bytes per block
 * of the MCU are in the buffer; its slow path reports such codes
 * (JWRN_HUFF_BAD_CODE). jpeg_huff.c switches to chunks for every MCU it hands
 * to libjpeg; strict decodes of sequential multi-scan files and reference
 * decodes use chunks throughout.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "jpeglib.h"
#include "jerror.h"

#include "jpeg_shim.h"

/* jpeg_huff.c: our MCU decoder for single-scan Huffman files. */
int pf_huff_install(j_decompress_ptr cinfo);
int pf_src_chunked(j_decompress_ptr cinfo, int on);

/* ---- source manager ---- */

/* Below libjpeg's 512 bytes per block of an MCU: its Huffman decoder then takes
 * the checking path. */
#define PF_CHUNK 64

typedef struct pf_source_mgr {
  struct jpeg_source_mgr pub;
  const JOCTET *pos; /* first byte not yet handed to libjpeg */
  const JOCTET *end;
  int chunked;
  int eof; /* the fake EOI was handed out */
} pf_source_mgr;

static const JOCTET pf_fake_eoi[2] = {0xFF, JPEG_EOI};

static void pf_src_init(j_decompress_ptr cinfo)
{
  (void)cinfo;
}

static void pf_src_term(j_decompress_ptr cinfo)
{
  (void)cinfo;
}

/* Hand out the next piece (all of the rest, or PF_CHUNK bytes); at the end, a
 * fake EOI marker with libjpeg's warning, as jpeg_mem_src does. libjpeg calls
 * this only when it has consumed everything handed out before. */
static boolean pf_src_fill(j_decompress_ptr cinfo)
{
  pf_source_mgr *s = (pf_source_mgr *)cinfo->src;
  size_t left = (size_t)(s->end - s->pos);
  if (left > 0) {
    size_t n = s->chunked && left > PF_CHUNK ? PF_CHUNK : left;
    s->pub.next_input_byte = s->pos;
    s->pub.bytes_in_buffer = n;
    s->pos += n;
    return TRUE;
  }
  WARNMS(cinfo, JWRN_JPEG_EOF);
  s->eof = 1;
  s->pub.next_input_byte = pf_fake_eoi;
  s->pub.bytes_in_buffer = 2;
  return TRUE;
}

static void pf_src_skip(j_decompress_ptr cinfo, long num_bytes)
{
  struct jpeg_source_mgr *src = cinfo->src;
  if (num_bytes <= 0)
    return;
  while (num_bytes > (long)src->bytes_in_buffer) {
    num_bytes -= (long)src->bytes_in_buffer;
    src->bytes_in_buffer = 0;
    (void)(*src->fill_input_buffer)(cinfo);
  }
  src->next_input_byte += (size_t)num_bytes;
  src->bytes_in_buffer -= (size_t)num_bytes;
}

static void pf_src_set(j_decompress_ptr cinfo, pf_source_mgr *s,
                       const uint8_t *data, size_t len, int chunked)
{
  s->pub.init_source = pf_src_init;
  s->pub.fill_input_buffer = pf_src_fill;
  s->pub.skip_input_data = pf_src_skip;
  s->pub.resync_to_restart = jpeg_resync_to_restart;
  s->pub.term_source = pf_src_term;
  s->pub.next_input_byte = NULL;
  s->pub.bytes_in_buffer = 0;
  s->pos = data;
  s->end = data + len;
  s->chunked = chunked;
  s->eof = 0;
  cinfo->src = &s->pub;
}

/* Switch between chunks and the whole rest, keeping libjpeg's position. Called
 * between MCUs, where cinfo->src describes exactly the unconsumed bytes handed
 * out; those are contiguous with s->pos unless the fake EOI was handed out. */
int pf_src_chunked(j_decompress_ptr cinfo, int on)
{
  pf_source_mgr *s = (pf_source_mgr *)cinfo->src;
  int was = s->chunked;
  if (was == on)
    return was;
  s->chunked = on;
  if (s->eof || s->pub.next_input_byte == NULL)
    return was;
  if (on) {
    if (s->pub.bytes_in_buffer > PF_CHUNK) {
      s->pos = s->pub.next_input_byte + PF_CHUNK;
      s->pub.bytes_in_buffer = PF_CHUNK;
    }
  } else {
    s->pub.bytes_in_buffer += (size_t)(s->end - s->pos);
    s->pos = s->end;
  }
  return was;
}

#define PF_STR2(x) #x
#define PF_STR(x) PF_STR2(x)

/* Rows handed to jpeg_read_scanlines per call on the direct (full-width) path. */
#define PF_MAX_ROWS 16

typedef struct pf_error_mgr {
  struct jpeg_error_mgr pub;
  jmp_buf jb;
  int fatal_code;  /* msg_code of the error that longjmp'ed */
  int eof_warned;  /* JWRN_JPEG_EOF: the source ran dry and faked an EOI */
  int data_warned; /* a warning meaning the decoded samples are not real */
  char fatal_msg[JMSG_LENGTH_MAX];
  char data_msg[JMSG_LENGTH_MAX];
} pf_error_mgr;

static void pf_error_exit(j_common_ptr cinfo)
{
  pf_error_mgr *err = (pf_error_mgr *)cinfo->err;
  err->fatal_code = err->pub.msg_code;
  (*err->pub.format_message)(cinfo, err->fatal_msg);
  longjmp(err->jb, 1);
}

/* Never print anything. */
static void pf_output_message(j_common_ptr cinfo)
{
  (void)cinfo;
}

static void pf_emit_message(j_common_ptr cinfo, int msg_level)
{
  pf_error_mgr *err = (pf_error_mgr *)cinfo->err;
  if (msg_level >= 0)
    return; /* trace message */
  err->pub.num_warnings++;
  switch (err->pub.msg_code) {
  case JWRN_JPEG_EOF:
    err->eof_warned = 1;
    break;
  case JWRN_HIT_MARKER:
  case JWRN_HUFF_BAD_CODE:
  case JWRN_ARITH_BAD_CODE:
  case JWRN_MUST_RESYNC:
  case JWRN_NOT_SEQUENTIAL:
  case JWRN_EXTRANEOUS_DATA:
  case JWRN_BOGUS_PROGRESSION:
    if (!err->data_warned) {
      err->data_warned = 1;
      (*err->pub.format_message)(cinfo, err->data_msg);
    }
    break;
  default:
    /* JFIF/Adobe oddities, ICC chunks: header matters, not the samples. */
    break;
  }
}

static int pf_fail(char *msg, size_t msg_len, int code, const char *text)
{
  snprintf(msg, msg_len, "%s", text);
  return code;
}

static int pf_classify_fatal(const pf_error_mgr *err, char *msg, size_t msg_len)
{
  switch (err->fatal_code) {
  case JERR_INPUT_EMPTY:
  case JERR_INPUT_EOF:
    return pf_fail(msg, msg_len, PF_TRUNCATED, err->fatal_msg);
  default:
    break;
  }
  if (err->eof_warned) {
    /* The error came from parsing the fake EOI the source inserted. */
    snprintf(msg, msg_len, "Premature end of JPEG file (%s)", err->fatal_msg);
    return PF_TRUNCATED;
  }
  switch (err->fatal_code) {
  case JERR_BAD_PRECISION:
  case JERR_NOT_COMPILED:
  case JERR_CONVERSION_NOTIMPL:
  case JERR_SOF_UNSUPPORTED:
  case JERR_NOTIMPL:
  case JERR_ARITH_NOTIMPL:
  case JERR_FRACT_SAMPLE_NOTIMPL:
  case JERR_CCIR601_NOTIMPL:
    return pf_fail(msg, msg_len, PF_UNSUPPORTED, err->fatal_msg);
  default:
    return pf_fail(msg, msg_len, PF_CORRUPT, err->fatal_msg);
  }
}

/* After the requested rows were produced: were any of them made up?
 * `fake_eof_matters`: multi-scan files consume all input in
 * jpeg_start_decompress, and the arithmetic decoder silently pads with zeros,
 * so for them an early end of data always means missing pixels. A single-scan
 * Huffman file whose final EOI is missing also runs the source dry (the bit
 * reader reads ahead), but its samples are only fake if the decoder then
 * needed bits it did not have, which it reports as JWRN_HIT_MARKER. */
static int pf_classify_warnings(const pf_error_mgr *err, int fake_eof_matters,
                                int strict, char *msg, size_t msg_len)
{
  if (err->data_warned) {
    if (err->eof_warned) {
      snprintf(msg, msg_len, "Premature end of JPEG file (%s)", err->data_msg);
      return PF_TRUNCATED;
    }
    if (strict)
      return pf_fail(msg, msg_len, PF_CORRUPT, err->data_msg);
  }
  if (err->eof_warned && fake_eof_matters)
    return pf_fail(msg, msg_len, PF_TRUNCATED, "Premature end of JPEG file");
  return PF_OK;
}

static void pf_invert(JSAMPLE *row, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    row[i] = (JSAMPLE)(row[i] ^ 0xFF);
}

const char *pf_jpeg_turbo_version(void)
{
  return PF_STR(LIBJPEG_TURBO_VERSION);
}

/* Skip the first `y` output rows (lossless JPEG cannot skip: it reads and drops them
 * through a one-row buffer of `stride` bytes). Returns 0 if the data ran out. */
static int pf_skip_rows(j_decompress_ptr cinfo, int lossless, JDIMENSION y,
                        size_t stride)
{
  if (lossless) {
    JSAMPARRAY discard = (*cinfo->mem->alloc_sarray)(
      (j_common_ptr)cinfo, JPOOL_IMAGE, (JDIMENSION)stride, 1);
    while (cinfo->output_scanline < y)
      if (jpeg_read_scanlines(cinfo, discard, 1) != 1)
        break;
  } else {
    jpeg_skip_scanlines(cinfo, y);
  }
  return cinfo->output_scanline == y;
}

/* Read `h` rows of `stride` bytes into out, up to PF_MAX_ROWS per call (inverting CMYK
 * samples when asked). Returns 0 if the decoder produced no rows. */
static int pf_read_rows(j_decompress_ptr cinfo, uint8_t *out, size_t stride,
                        JDIMENSION h, int invert)
{
  JSAMPROW rows[PF_MAX_ROWS];
  JDIMENSION done = 0;
  while (done < h) {
    JDIMENSION n = h - done, got, i;
    if (n > PF_MAX_ROWS)
      n = PF_MAX_ROWS;
    for (i = 0; i < n; i++)
      rows[i] = out + (size_t)(done + i) * stride;
    got = jpeg_read_scanlines(cinfo, rows, n);
    if (got == 0 || got > n)
      return 0;
    if (invert)
      pf_invert(rows[0], (size_t)got * stride);
    done += got;
  }
  return 1;
}

int pf_jpeg_decode(const uint8_t *data, size_t len, const pf_jpeg_params *p,
                   uint8_t *out, size_t out_len, pf_jpeg_band *band, char *msg,
                   size_t msg_len)
{
  struct jpeg_decompress_struct cinfo;
  pf_error_mgr err;
  pf_source_mgr src;
  J_COLOR_SPACE space;
  int channels, invert, lossless, fake_eof_matters, rc;
  size_t stride, need;
  JDIMENSION done;

  if (msg == NULL || msg_len == 0)
    return PF_BAD_PARAMS;
  msg[0] = '\0';
  if (data == NULL || p == NULL || out == NULL)
    return pf_fail(msg, msg_len, PF_BAD_PARAMS, "null argument");

  /* ---- Validate the request before touching the data. ---- */
  switch (p->color) {
  case PF_COLOR_GRAY: space = JCS_GRAYSCALE; channels = 1; break;
  case PF_COLOR_RGB: space = JCS_RGB; channels = 3; break;
  case PF_COLOR_BGR: space = JCS_EXT_BGR; channels = 3; break;
  case PF_COLOR_RGBA: space = JCS_EXT_RGBA; channels = 4; break;
  case PF_COLOR_CMYK: space = JCS_CMYK; channels = 4; break;
  default: return pf_fail(msg, msg_len, PF_BAD_PARAMS, "bad colour");
  }
  invert = p->color == PF_COLOR_CMYK;
  if (p->scale_num < 1 || p->scale_num > 8)
    return pf_fail(msg, msg_len, PF_BAD_PARAMS, "bad scale");
  if (p->w == 0 || p->h == 0 ||
      (uint64_t)p->x + p->w > p->scaled_width ||
      (uint64_t)p->y + p->h > p->scaled_height)
    return pf_fail(msg, msg_len, PF_BAD_PARAMS, "region outside the image");
  stride = (size_t)p->w * (size_t)channels;
  if (stride / (size_t)channels != p->w || stride > SIZE_MAX / p->h)
    return pf_fail(msg, msg_len, PF_BAD_PARAMS, "region too large");
  need = stride * p->h;
  if (band != NULL) {
    size_t full = (size_t)p->scaled_width * (size_t)channels;
    if (full / (size_t)channels != p->scaled_width || full > SIZE_MAX / p->h)
      return pf_fail(msg, msg_len, PF_BAD_PARAMS, "region too large");
    need = full * p->h;
    band->x = p->x;
    band->w = p->w;
  }
  if (out_len < need)
    return pf_fail(msg, msg_len, PF_BAD_PARAMS, "output buffer too small");
  if ((unsigned long)len != len)
    return pf_fail(msg, msg_len, PF_BAD_PARAMS, "input too large");

  /* ---- libjpeg ---- */
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = pf_error_exit;
  err.pub.output_message = pf_output_message;
  err.pub.emit_message = pf_emit_message;
  err.fatal_code = 0;
  err.eof_warned = 0;
  err.data_warned = 0;
  err.fatal_msg[0] = '\0';
  err.data_msg[0] = '\0';
  if (setjmp(err.jb)) {
    jpeg_destroy_decompress(&cinfo);
    return pf_classify_fatal(&err, msg, msg_len);
  }
  jpeg_create_decompress(&cinfo);
  pf_src_set(&cinfo, &src, data, len, p->reference != 0);
  jpeg_read_header(&cinfo, TRUE);

  if (cinfo.data_precision != 8) {
    snprintf(msg, msg_len, "Unsupported JPEG data precision %d",
             cinfo.data_precision);
    jpeg_destroy_decompress(&cinfo);
    return PF_UNSUPPORTED;
  }
  if (cinfo.image_width != p->image_width ||
      cinfo.image_height != p->image_height) {
    jpeg_destroy_decompress(&cinfo);
    return pf_fail(msg, msg_len, PF_CORRUPT, "inconsistent frame header");
  }
  /* Lossless JPEG codes single samples (data unit 1): no IDCT scaling, no
   * cropping, no skipping. */
  lossless = cinfo.min_DCT_scaled_size == 1;
  if (lossless && p->scale_num != 8) {
    jpeg_destroy_decompress(&cinfo);
    return pf_fail(msg, msg_len, PF_BAD_PARAMS, "lossless JPEG cannot be scaled");
  }
  fake_eof_matters = jpeg_has_multiple_scans(&cinfo) || cinfo.arith_code;

  cinfo.out_color_space = space;
  cinfo.dct_method = p->fast ? JDCT_IFAST : JDCT_ISLOW;
  cinfo.do_fancy_upsampling = p->fast ? FALSE : TRUE;
  cinfo.scale_num = p->scale_num;
  cinfo.scale_denom = 8;
  jpeg_calc_output_dimensions(&cinfo);
  if (cinfo.output_width != p->scaled_width ||
      cinfo.output_height != p->scaled_height ||
      cinfo.out_color_components != channels) {
    jpeg_destroy_decompress(&cinfo);
    return pf_fail(msg, msg_len, PF_BAD_PARAMS, "output size mismatch");
  }

  /* Sequential multi-scan files are entropy-decoded inside jpeg_start_decompress,
   * by libjpeg alone: in strict mode through its checking path. */
  if (p->strict && jpeg_has_multiple_scans(&cinfo) && !cinfo.progressive_mode)
    pf_src_chunked(&cinfo, 1);
  jpeg_start_decompress(&cinfo);
  if (!lossless && !fake_eof_matters && !p->reference &&
      !pf_huff_install(&cinfo) && p->strict)
    pf_src_chunked(&cinfo, 1);
  if (cinfo.output_width != p->scaled_width ||
      cinfo.output_height != p->scaled_height ||
      cinfo.output_components != channels) {
    jpeg_destroy_decompress(&cinfo);
    return pf_fail(msg, msg_len, PF_BAD_PARAMS, "output size mismatch");
  }

  /* Rows above the region: jpeg_skip_scanlines keeps the context-row upsampler
   * state exact (the tests compare every sampling, 4:2:0 and 4:4:0 included, and
   * every scale against full decodes), so no pre-roll rows are needed. */
  if (p->w == cinfo.output_width) {
    /* Full width: decode straight into the caller's rows. */
    if (p->y > 0 && !pf_skip_rows(&cinfo, lossless, p->y, stride)) {
      jpeg_destroy_decompress(&cinfo);
      return pf_fail(msg, msg_len, PF_CORRUPT, "could not skip rows");
    }
    if (!pf_read_rows(&cinfo, out, stride, p->h, invert)) {
      jpeg_destroy_decompress(&cinfo);
      return pf_fail(msg, msg_len, PF_CORRUPT, "decoder produced no rows");
    }
  } else {
    /* Partial width: decode a wider band and copy the requested columns out.
     * Fancy upsampling treats the band's edges as image edges, and progressive
     * block smoothing replicates the DC values of the band's first two blocks,
     * so the band extends one iMCU right of the region and one (three for
     * progressive) iMCUs left of it, where the image allows. */
    JDIMENSION imcu = (JDIMENSION)(cinfo.max_h_samp_factor *
                                   cinfo.min_DCT_scaled_size);
    JDIMENSION left = imcu * (cinfo.progressive_mode ? 3 : 1);
    JDIMENSION xo = p->x > left ? p->x - left : 0;
    JDIMENSION xe = p->x + p->w;
    JDIMENSION band_w, skip_cols;
    JSAMPARRAY row;

    xe = cinfo.output_width - xe > imcu ? xe + imcu : cinfo.output_width;
    band_w = xe - xo;
    if (!lossless)
      jpeg_crop_scanline(&cinfo, &xo, &band_w);
    else {
      xo = 0;
      band_w = cinfo.output_width;
    }
    if (xo > p->x || (uint64_t)xo + band_w < (uint64_t)p->x + p->w ||
        cinfo.output_width != band_w) {
      jpeg_destroy_decompress(&cinfo);
      return pf_fail(msg, msg_len, PF_BAD_PARAMS, "crop mismatch");
    }
    skip_cols = p->x - xo;
    if (band != NULL) {
      /* The caller takes the whole band: decode straight into its rows, several at a
       * time (one row at a time makes the merged upsampler copy through a spare row). */
      size_t band_stride = (size_t)band_w * (size_t)channels;
      if (p->y > 0 && !pf_skip_rows(&cinfo, lossless, p->y, band_stride)) {
        jpeg_destroy_decompress(&cinfo);
        return pf_fail(msg, msg_len, PF_CORRUPT, "could not skip rows");
      }
      band->x = xo;
      band->w = band_w;
      if (!pf_read_rows(&cinfo, out, band_stride, p->h, invert)) {
        jpeg_destroy_decompress(&cinfo);
        return pf_fail(msg, msg_len, PF_CORRUPT, "decoder produced no rows");
      }
      rc = pf_classify_warnings(&err, fake_eof_matters, (int)p->strict, msg, msg_len);
      jpeg_abort_decompress(&cinfo);
      jpeg_destroy_decompress(&cinfo);
      return rc;
    }
    /* Up to PF_MAX_ROWS band rows per jpeg_read_scanlines call (per-call overhead). */
    row = (*cinfo.mem->alloc_sarray)((j_common_ptr)&cinfo, JPOOL_IMAGE,
                                     band_w * (JDIMENSION)channels, PF_MAX_ROWS);
    if (p->y > 0 &&
        !pf_skip_rows(&cinfo, lossless, p->y, (size_t)band_w * (size_t)channels)) {
      jpeg_destroy_decompress(&cinfo);
      return pf_fail(msg, msg_len, PF_CORRUPT, "could not skip rows");
    }
    done = 0;
    while (done < p->h) {
      JDIMENSION n = p->h - done, got, i;
      if (n > PF_MAX_ROWS)
        n = PF_MAX_ROWS;
      got = jpeg_read_scanlines(&cinfo, row, n);
      if (got == 0 || got > n) {
        jpeg_destroy_decompress(&cinfo);
        return pf_fail(msg, msg_len, PF_CORRUPT, "decoder produced no rows");
      }
      for (i = 0; i < got; i++) {
        uint8_t *dst = out + (size_t)(done + i) * stride;
        memcpy(dst, row[i] + (size_t)skip_cols * (size_t)channels, stride);
        if (invert)
          pf_invert(dst, stride);
      }
      done += got;
    }
  }

  /* Strict, whole image: read on to EOI, so that garbage after the last row
   * (extraneous bytes, a second scan) is seen. Lenient, or a region: stop here,
   * rows below the region are never decoded and no EOI is needed. */
  if (p->strict && p->x == 0 && p->y == 0 && p->w == cinfo.output_width &&
      p->h == cinfo.output_height && cinfo.output_scanline == cinfo.output_height)
    jpeg_finish_decompress(&cinfo);
  rc = pf_classify_warnings(&err, fake_eof_matters, (int)p->strict, msg, msg_len);
  jpeg_abort_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return rc;
}
