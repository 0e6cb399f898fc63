/*
 * loadtest._cwsscan: the fan-out subscribers' per-message work in C (built by
 * `make native`).
 *
 * Why: in Python, framing a book delta, reading seq/prev_seq/ts_us and recording
 * the latency costs the subscriber processes several microseconds per message. They
 * share the cores with the gateway they measure, so that cost was part of every
 * fan-out latency figure. Here it is one pass over the bytes and no object per
 * message.
 *
 * Contract: scan(buf, pos, last_seq, now_us, counts, lats) does exactly what
 * loadtest/ws_scan.py's scan_reference does (the reference; tests/loadtest/
 * test_ws_scan.py checks the two differentially): it reads the complete, unmasked
 * text frames from `pos` whose payload is a market-data push, and stops at the
 * first frame that is anything else. Returns (pos, last_seq); adds to the int64
 * array `counts` (frames, gaps, snapshots, conflations, then the window lo, hi) and,
 * if lo <= now_us < hi, appends now_us - ts_us per frame to the bytearray `lats`
 * (little-endian int64). A negative now_us means the wall clock, read here: one
 * Python call less per receive for the subscribers.
 *
 * Safety: no Python code runs while `buf` is read; `lats` is only resized.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define MAX_DIGITS 18

static const char CHANNEL[] = "{\"channel\":";
static const char SEQ[] = "\"seq\":";
static const char PREV[] = "\"prev_seq\":";
static const char TS[] = "\"ts_us\":";
static const char SNAPSHOT[] = "\"type\":\"snapshot\"";

/* First occurrence of needle (n bytes) in s[from:to], or -1. */
static Py_ssize_t find(const char *s, Py_ssize_t from, Py_ssize_t to, const char *needle,
                       Py_ssize_t n) {
    if (to - from < n) return -1;
    const char *hit = memmem(s + from, (size_t)(to - from), needle, (size_t)n);
    return hit == NULL ? -1 : (Py_ssize_t)(hit - s);
}

/* The number at s[at] (1..MAX_DIGITS digits, not followed by a digit before `end`),
 * or -1. */
static long long number(const char *s, Py_ssize_t at, Py_ssize_t end) {
    long long v = 0;
    Py_ssize_t k = at;
    while (k < end && s[k] >= '0' && s[k] <= '9') {
        if (k - at == MAX_DIGITS) return -1;
        v = v * 10 + (s[k] - '0');
        k++;
    }
    return k == at ? -1 : v;
}

static int append_latency(PyObject *lats, long long value) {
    Py_ssize_t n = PyByteArray_GET_SIZE(lats);
    if (PyByteArray_Resize(lats, n + 8) < 0) return -1;
    unsigned char *p = (unsigned char *)PyByteArray_AS_STRING(lats) + n;
    uint64_t u = (uint64_t)value;
    for (int b = 0; b < 8; b++) p[b] = (unsigned char)(u >> (8 * b));
    return 0;
}

#define LIT(x) x, (Py_ssize_t)(sizeof(x) - 1)

static PyObject *scan(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer view, cview;
    Py_ssize_t pos;
    long long last_seq, now_us;
    PyObject *lats;
    if (!PyArg_ParseTuple(args, "y*nLLw*O", &view, &pos, &last_seq, &now_us, &cview, &lats))
        return NULL;
    PyObject *result = NULL;
    if (!PyByteArray_Check(lats)) {
        PyErr_SetString(PyExc_TypeError, "lats must be a bytearray");
        goto done;
    }
    if (cview.len < 6 * (Py_ssize_t)sizeof(long long) || cview.itemsize != sizeof(long long)) {
        PyErr_SetString(PyExc_TypeError, "counts must be an array('q') of 6");
        goto done;
    }
    long long *counts = (long long *)cview.buf;
    if (now_us < 0) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t); /* time.time_ns()'s clock */
        now_us = (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
    }
    int record = counts[4] <= now_us && now_us < counts[5];
    const char *s = (const char *)view.buf;
    const unsigned char *u = (const unsigned char *)view.buf;
    Py_ssize_t size = view.len;
    if (pos < 0) pos = 0;
    while (size - pos >= 2) {
        if (u[pos] != 0x81) break;
        uint64_t n = u[pos + 1];
        Py_ssize_t off = pos + 2;
        if (n == 126) {
            if (size - pos < 4) break;
            n = ((uint64_t)u[pos + 2] << 8) | u[pos + 3];
            off = pos + 4;
        } else if (n == 127) {
            if (size - pos < 10) break;
            n = 0;
            for (int b = 2; b < 10; b++) n = (n << 8) | u[pos + b];
            off = pos + 10;
        } else if (n > 127) {
            break;
        }
        if (n > (uint64_t)(size - off)) break;
        Py_ssize_t end = off + (Py_ssize_t)n;
        if (end - off < (Py_ssize_t)(sizeof(CHANNEL) - 1) ||
            memcmp(s + off, CHANNEL, sizeof(CHANNEL) - 1) != 0)
            break;
        Py_ssize_t i = find(s, off, end, LIT(SEQ));
        if (i < 0) break;
        long long seq = number(s, i + 6, end);
        if (seq < 0) break;
        Py_ssize_t j = find(s, i + 6, end, LIT(PREV));
        long long prev = -1;
        if (j >= 0) {
            prev = number(s, j + 11, end);
            if (prev < 0) break;
        }
        Py_ssize_t k = find(s, j < 0 ? i + 6 : j + 11, end, LIT(TS));
        if (k < 0) break;
        long long ts = number(s, k + 8, end);
        if (ts < 0) break;
        counts[0] += 1;
        if (j >= 0) {
            if (prev != last_seq) counts[1] += 1;
        } else if (find(s, off, end, LIT(SNAPSHOT)) >= 0) {
            counts[2] += 1;
            if (last_seq >= 0) counts[3] += 1;
        }
        last_seq = seq;
        if (record && append_latency(lats, now_us - ts) < 0) goto done;
        pos = end;
    }
    result = Py_BuildValue("nL", pos, last_seq);
done:
    PyBuffer_Release(&view);
    PyBuffer_Release(&cview);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS,
     "scan(buf, pos, last_seq, now_us, counts, lats) -> (pos, last_seq); see ws_scan.py"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_cwsscan", "Fan-out subscribers' frame scanner (C).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__cwsscan(void) { return PyModule_Create(&module); }
