/* Run-time choice between the two builds of jpeg_huff.c (see build.rs).
 *
 * On x86-64, jpeg_huff.c is compiled twice: once for baseline x86-64 (every
 * x86-64 CPU; its symbol is pf_huff_install_base) and once for x86-64-v3
 * (AVX2, BMI1/2, FMA, LZCNT, MOVBE: BMI2's shifts speed up the bit reader;
 * pf_huff_install_v3). pf_huff_install picks the v3 build only when this CPU
 * and its OS support every x86-64-v3 feature, so no build ever runs an
 * instruction the CPU lacks. The choice is made once per process; the
 * environment variable PIXFEED_JPEG_HUFF=baseline forces the baseline build
 * (to compare the two, or to rule the v3 build out).
 *
 * Elsewhere (no PF_HUFF_V3: aarch64, or a build that skips the second copy)
 * jpeg_huff.c is compiled once as pf_huff_install_base.
 */
#include <stdio.h> /* jpeglib.h needs FILE */
#include <stdlib.h>
#include <string.h>

#include "jpeglib.h"

int pf_huff_install(j_decompress_ptr cinfo);
const char *pf_huff_variant(void);
int pf_huff_install_base(j_decompress_ptr cinfo);

#ifdef PF_HUFF_V3
#include <cpuid.h>

int pf_huff_install_v3(j_decompress_ptr cinfo);

/* Every feature -march=x86-64-v3 lets the compiler use, plus the OS saving
 * the AVX registers (XCR0 bits 1 and 2). */
static int pf_cpu_has_v3(void)
{
  unsigned int a, b, c, d;
  unsigned int xcr0_lo, xcr0_hi;
  int has_fma, has_movbe, has_osxsave, has_avx, has_f16c;
  if (!__get_cpuid(1, &a, &b, &c, &d))
    return 0;
  has_fma = (c >> 12) & 1;
  has_movbe = (c >> 22) & 1;
  has_osxsave = (c >> 27) & 1;
  has_avx = (c >> 28) & 1;
  has_f16c = (c >> 29) & 1;
  if (!(has_fma && has_movbe && has_osxsave && has_avx && has_f16c))
    return 0;
  __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  (void)xcr0_hi;
  if ((xcr0_lo & 6) != 6)
    return 0;
  if (__get_cpuid_max(0, NULL) < 7)
    return 0;
  __cpuid_count(7, 0, a, b, c, d);
  /* BMI1 (bit 3), AVX2 (bit 5), BMI2 (bit 8) */
  if (!((b >> 3) & 1) || !((b >> 5) & 1) || !((b >> 8) & 1))
    return 0;
  if (!__get_cpuid(0x80000001u, &a, &b, &c, &d))
    return 0;
  return (c >> 5) & 1; /* LZCNT */
}

/* 0: not chosen yet, 1: baseline, 2: x86-64-v3. Racing first calls compute
 * the same answer; the atomics keep that free of data races. */
static int pf_huff_choice;

static int pf_huff_choose(void)
{
  int choice = __atomic_load_n(&pf_huff_choice, __ATOMIC_ACQUIRE);
  if (choice == 0) {
    const char *force = getenv("PIXFEED_JPEG_HUFF");
    choice = (force != NULL && strcmp(force, "baseline") == 0) ? 1 : pf_cpu_has_v3() ? 2 : 1;
    __atomic_store_n(&pf_huff_choice, choice, __ATOMIC_RELEASE);
  }
  return choice;
}

int pf_huff_install(j_decompress_ptr cinfo)
{
  return pf_huff_choose() == 2 ? pf_huff_install_v3(cinfo) : pf_huff_install_base(cinfo);
}

const char *pf_huff_variant(void)
{
  return pf_huff_choose() == 2 ? "x86-64-v3" : "baseline";
}
#else
int pf_huff_install(j_decompress_ptr cinfo)
{
  return pf_huff_install_base(cinfo);
}

const char *pf_huff_variant(void)
{
  return "baseline";
}
#endif
