/* pixfeed JPEG shim: a small C layer over libjpeg-turbo's libjpeg API.
 *
 * Everything that can longjmp (libjpeg errors) stays inside these functions:
 * callers (Rust) only ever see return codes and messages.
 */
#ifndef PF_JPEG_SHIM_H
#define PF_JPEG_SHIM_H

#include <stddef.h>
#include <stdint.h>

/* Return codes of pf_jpeg_decode. */
#define PF_OK 0
#define PF_TRUNCATED 1
#define PF_CORRUPT 2
#define PF_UNSUPPORTED 3
/* The parameters do not match the data (a Rust/C disagreement): never writes. */
#define PF_BAD_PARAMS 4

/* Output colour of pf_jpeg_decode. */
#define PF_COLOR_GRAY 0 /* JCS_GRAYSCALE, 1 byte/pixel */
#define PF_COLOR_RGB 1  /* JCS_RGB, 3 */
#define PF_COLOR_BGR 2  /* JCS_EXT_BGR, 3 */
#define PF_COLOR_RGBA 3 /* JCS_EXT_RGBA, 4 (alpha 255) */
#define PF_COLOR_CMYK 4 /* JCS_CMYK with every sample inverted (255 - v), 4 */

typedef struct pf_jpeg_params {
  /* What the caller's own header parse found; checked against libjpeg's. */
  uint32_t image_width;
  uint32_t image_height;
  /* Scale M/8, M in 1..=8 (must be 8 for lossless JPEG). */
  uint32_t scale_num;
  /* Expected output size at that scale (libjpeg's jdiv_round_up(W*M, 8)). */
  uint32_t scaled_width;
  uint32_t scaled_height;
  /* Region to produce, in scaled coordinates; must lie inside the scaled image. */
  uint32_t x, y, w, h;
  /* One of PF_COLOR_*. */
  uint32_t color;
  /* Nonzero: trade exactness for speed (JDCT_IFAST, merged instead of fancy upsampling),
   * for callers that resample the result anyway. */
  uint32_t fast;
  /* Nonzero: every corrupt-data warning of libjpeg is an error (PF_CORRUPT, or
   * PF_TRUNCATED when the data also ran out), and a decode of the whole image reads on
   * to the EOI marker so that garbage after the last row is seen. Zero: such warnings
   * are ignored (the samples are what libjpeg recovered, as Pillow returns them). */
  uint32_t strict;
  /* Nonzero: a reference decode for tests: libjpeg's own entropy decoder only (not
   * jpeg_huff.c's), fed through a source that hands it at most 64 bytes at a time, so
   * that libjpeg always takes its checking ("slow") path, which warns on every bad
   * Huffman code. */
  uint32_t reference;
} pf_jpeg_params;

/* Where the columns of a band decode landed (see pf_jpeg_decode's band argument). */
typedef struct pf_jpeg_band {
  uint32_t x, w;
} pf_jpeg_band;

/* Decode the region p->(x, y, w, h) of the JPEG in data[0..len) into out, rows of
 * w * channels bytes packed top to bottom (out_len must be >= h * w * channels).
 * With band != NULL the rows may instead be wider, columns band->x .. band->x + band->w
 * (a superset of x .. x + w: the iMCU-aligned band libjpeg decodes anyway), which saves a
 * copy per row; out_len must then be >= h * scaled_width * channels.
 * Returns PF_OK or an error code with a NUL-terminated reason in msg (msg_len >= 1).
 * On error the contents of out are unspecified. */
int pf_jpeg_decode(const uint8_t *data, size_t len, const pf_jpeg_params *p,
                   uint8_t *out, size_t out_len, pf_jpeg_band *band, char *msg,
                   size_t msg_len);

/* "3.1.0": LIBJPEG_TURBO_VERSION of the library compiled in. */
const char *pf_jpeg_turbo_version(void);

/* ---- Encoding (jpeg_enc.c; only linked when referenced) ---- */

typedef struct pf_jpeg_enc_params {
  uint32_t width, height;
  /* 1 = grayscale, 3 = RGB, 4 = CMYK input samples (8-bit, packed rows). */
  uint32_t in_components;
  /* 0 = libjpeg's default for the input (gray / YCbCr / CMYK), 1 = store RGB
   * (no transform), 2 = YCCK (CMYK input only). */
  uint32_t jpeg_space;
  uint32_t quality;
  /* Sampling factors of component 0 (others get 1x1): 1x1 = 4:4:4, 2x1 = 4:2:2,
   * 2x2 = 4:2:0, 1x2 = 4:4:0. */
  uint32_t h_samp, v_samp;
  uint32_t progressive;
  uint32_t arithmetic;
  /* Restart interval in MCU rows (0 = none). */
  uint32_t restart_rows;
  /* 8 or 12 (12: samples are scaled up by 16). */
  uint32_t precision;
  /* Lossless (SOF3) with predictor 1. */
  uint32_t lossless;
  /* Optimized Huffman tables (libjpeg's optimize_coding). */
  uint32_t optimize;
  /* Optional APP1 payload (e.g. "Exif\0\0..."). */
  const uint8_t *app1;
  size_t app1_len;
} pf_jpeg_enc_params;

/* Encode pixels (height rows of width * in_components bytes). On success returns 0
 * and a malloc'ed buffer in *out (free with pf_jpeg_free). */
int pf_jpeg_encode(const uint8_t *pixels, const pf_jpeg_enc_params *p,
                             uint8_t **out, size_t *out_len, char *msg,
                             size_t msg_len);
void pf_jpeg_free(uint8_t *buf);

#endif
