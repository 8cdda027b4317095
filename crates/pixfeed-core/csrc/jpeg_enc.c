/* JPEG encoder over libjpeg's compression API (see jpeg_shim.h): used by the CLI
 * (pixfeed resize / crop writing images) and by the tests.
 * Kept in its own object file so that nothing of it (nor libjpeg's encoder) is
 * linked into builds that do not reference it. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jpeglib.h"
#include "jerror.h"

#include "jpeg_shim.h"

typedef struct pf_enc_error_mgr {
  struct jpeg_error_mgr pub;
  jmp_buf jb;
  char msg[JMSG_LENGTH_MAX];
} pf_enc_error_mgr;

static void pf_enc_error_exit(j_common_ptr cinfo)
{
  pf_enc_error_mgr *err = (pf_enc_error_mgr *)cinfo->err;
  (*err->pub.format_message)(cinfo, err->msg);
  longjmp(err->jb, 1);
}

static void pf_enc_output_message(j_common_ptr cinfo)
{
  (void)cinfo;
}

int pf_jpeg_encode(const uint8_t *pixels, const pf_jpeg_enc_params *p,
                             uint8_t **out, size_t *out_len, char *msg,
                             size_t msg_len)
{
  struct jpeg_compress_struct cinfo;
  pf_enc_error_mgr err;
  /* volatile: read after longjmp. */
  unsigned char *volatile buf = NULL;
  unsigned long buf_len = 0;
  J12SAMPLE *volatile row12 = NULL;
  size_t stride;
  JDIMENSION y, x;

  if (msg == NULL || msg_len == 0)
    return 1;
  msg[0] = '\0';
  *out = NULL;
  *out_len = 0;
  stride = (size_t)p->width * p->in_components;

  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = pf_enc_error_exit;
  err.pub.output_message = pf_enc_output_message;
  if (setjmp(err.jb)) {
    jpeg_destroy_compress(&cinfo);
    free(buf);
    free(row12);
    snprintf(msg, msg_len, "%s", err.msg);
    return 1;
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, (unsigned char **)&buf, &buf_len);
  cinfo.image_width = p->width;
  cinfo.image_height = p->height;
  cinfo.input_components = (int)p->in_components;
  cinfo.in_color_space = p->in_components == 1 ? JCS_GRAYSCALE :
                         p->in_components == 3 ? JCS_RGB : JCS_CMYK;
  cinfo.data_precision = (int)p->precision;
  jpeg_set_defaults(&cinfo);
  if (p->jpeg_space == 1)
    jpeg_set_colorspace(&cinfo, JCS_RGB);
  else if (p->jpeg_space == 2)
    jpeg_set_colorspace(&cinfo, JCS_YCCK);
  if (p->lossless)
    jpeg_enable_lossless(&cinfo, 1, 0);
  else
    jpeg_set_quality(&cinfo, (int)p->quality, TRUE);
  cinfo.comp_info[0].h_samp_factor = (int)p->h_samp;
  cinfo.comp_info[0].v_samp_factor = (int)p->v_samp;
  if (p->progressive)
    jpeg_simple_progression(&cinfo);
  if (p->optimize)
    cinfo.optimize_coding = TRUE;
  cinfo.arith_code = p->arithmetic ? TRUE : FALSE;
  cinfo.restart_in_rows = (int)p->restart_rows;
  if (p->precision != 8 && p->precision != 12)
    ERREXIT1(&cinfo, JERR_BAD_PRECISION, (int)p->precision);
  jpeg_start_compress(&cinfo, TRUE);
  if (p->app1 != NULL && p->app1_len > 0)
    jpeg_write_marker(&cinfo, JPEG_APP0 + 1, p->app1, (unsigned int)p->app1_len);
  if (p->precision == 8) {
    for (y = 0; y < p->height; y++) {
      JSAMPROW row = (JSAMPROW)(pixels + (size_t)y * stride);
      jpeg_write_scanlines(&cinfo, &row, 1);
    }
  } else {
    row12 = (J12SAMPLE *)malloc(stride * sizeof(J12SAMPLE) + 1);
    if (row12 == NULL)
      ERREXIT1(&cinfo, JERR_OUT_OF_MEMORY, 0);
    for (y = 0; y < p->height; y++) {
      J12SAMPROW row = row12;
      for (x = 0; x < stride; x++)
        row12[x] = (J12SAMPLE)(pixels[(size_t)y * stride + x] << 4);
      jpeg12_write_scanlines(&cinfo, &row, 1);
    }
    free(row12);
    row12 = NULL;
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  *out = buf;
  *out_len = buf_len;
  return 0;
}

void pf_jpeg_free(uint8_t *buf)
{
  free(buf);
}
