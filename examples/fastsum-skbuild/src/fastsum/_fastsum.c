/* fastsum: a hot loop that compilers vectorise with the ISA a variant allows, and the
 * compile-time ISA facts of this very build (which -march it was compiled with). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

/* The x86-64 psABI micro-architecture level the compiler targeted, from the macros GCC and
 * Clang define for -march=x86-64[-vN]. */
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512CD__) && \
    defined(__AVX512DQ__) && defined(__AVX512VL__)
#define FASTSUM_LEVEL "v4"
#elif defined(__AVX2__) && defined(__FMA__) && defined(__BMI2__) && defined(__F16C__)
#define FASTSUM_LEVEL "v3"
#elif defined(__SSE4_2__) && defined(__SSSE3__) && defined(__POPCNT__)
#define FASTSUM_LEVEL "v2"
#elif defined(__x86_64__)
#define FASTSUM_LEVEL "v1"
#else
#define FASTSUM_LEVEL ""
#endif

#ifdef __AVX2__
#define HAVE_AVX2 1
#else
#define HAVE_AVX2 0
#endif
#ifdef __AVX512F__
#define HAVE_AVX512F 1
#else
#define HAVE_AVX512F 0
#endif

/* Sum of squares of a float32 buffer, accumulated in 64 independent lanes so the compiler can
 * vectorise it without -ffast-math and keep several independent FMA chains in flight (SSE2: 16
 * xmm vectors, AVX2: 8 ymm, AVX-512: 4 zmm). With fewer lanes the loop waits on the latency of a
 * single add chain and wider vectors gain nothing. */
#define LANES 64
static double sumsq(const float *x, Py_ssize_t n) {
    float acc[LANES] = {0};
    Py_ssize_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++)
            acc[j] += x[i + j] * x[i + j];
    double total = 0.0;
    for (int j = 0; j < LANES; j++)
        total += acc[j];
    for (; i < n; i++)
        total += (double)x[i] * x[i];
    return total;
}

static PyObject *py_sumsq(PyObject *self, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    if (view.itemsize != 4 || view.format == NULL || strcmp(view.format, "f") != 0) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_TypeError, "sumsq() needs a contiguous float32 buffer (array('f'))");
        return NULL;
    }
    double total;
    Py_BEGIN_ALLOW_THREADS
    total = sumsq((const float *)view.buf, view.len / 4);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return PyFloat_FromDouble(total);
}

static PyObject *py_compiled_isa(PyObject *self, PyObject *unused) {
    return Py_BuildValue("{s:s,s:O,s:O}", "level", FASTSUM_LEVEL,
                         "avx2", HAVE_AVX2 ? Py_True : Py_False,
                         "avx512f", HAVE_AVX512F ? Py_True : Py_False);
}

static PyMethodDef methods[] = {
    {"sumsq", py_sumsq, METH_O, "Sum of squares of a float32 buffer."},
    {"compiled_isa", py_compiled_isa, METH_NOARGS,
     "The ISA this build was compiled for: {'level': 'v1'..'v4', 'avx2': bool, 'avx512f': bool}."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fastsum", NULL, 0, methods};

PyMODINIT_FUNC PyInit__fastsum(void) { return PyModule_Create(&module); }
