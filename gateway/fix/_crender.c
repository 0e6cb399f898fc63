/*
 * gateway.fix._crender: the ExecutionReport body in C (built by `make native`).
 *
 * Why: two ER bodies are rendered per order (the ack, then the fill), ~0.8 and
 * ~1.3 us each in compiled Python (bytes %-formatting, grid text lookups, a list
 * and a join), the largest single cost of the FIX edge's outbound path. This module
 * writes the same bytes in one pass into one buffer.
 *
 * Contract (tests/gateway/test_crender.py checks it differentially against
 * translate.er_body(..., accelerate=False), whose _render_er stays the reference and
 * the pure-Python build):
 *   er_body(order_id, clordid, orig_clordid, exec_id, fix42, exec_type, ord_status,
 *           static, limit, grids, qty, price, last_qty, last_px, leaves, filled,
 *           notional, ts_us, commission, liquidity, text)
 *   returns the reference's bytes for the same report, or None when a number is
 *   outside the exact integer range (a value of 1e20 grid units or more, an average
 *   price that is not a whole number of asset units, an int beyond 64 bits, a
 *   TransactTime before 1970 or after 9999): the caller then runs the reference,
 *   which handles those with Decimal (and time.gmtime). grids is (lot_mant,
 *   lot_scale, tick_mant, tick_scale, unit_mant, unit_scale): each grid step is
 *   mant * 10**-scale. ts_us is TransactTime in epoch microseconds.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define SOH '\x01'
#define MAX_SCALE 18       /* 10**scale fits in 64 bits; beyond: the reference */
#define NUM_TEXT 64        /* the longest number text: sign, 20 digits, point, 18 */
#define FIXED_TEXT 128     /* tags, '=' and SOH of every field, "20=0", "13=3" */
#define NARGS 21

typedef __int128 i128;

/* 10**20: translate._BIG, where the reference leaves integers for Decimal. */
static const i128 BIG = (i128)10000000000LL * (i128)10000000000LL;

typedef struct {
    long long mant;
    int scale;
} grid_t;

/* v * 10**-scale as translate._Grid._format writes it: no exponent, trailing zeros
 * of the fraction stripped. Returns the length written, or -1 when |v| >= 1e20. */
static int grid_text(char *out, i128 v, int scale) {
    if (v <= -BIG || v >= BIG) return -1;
    int neg = v < 0;
    unsigned __int128 u = (unsigned __int128)(neg ? -v : v);
    char digits[48]; /* least significant first */
    int nd = 0;
    while (u > UINT64_MAX) { /* 128-bit division is a libgcc call: only up there */
        digits[nd++] = (char)('0' + (int)(u % 10));
        u /= 10;
    }
    unsigned long long w = (unsigned long long)u;
    do {
        digits[nd++] = (char)('0' + (int)(w % 10));
        w /= 10;
    } while (w);
    while (nd < scale + 1) digits[nd++] = '0';
    int lo = 0; /* trailing zeros of the fraction */
    while (lo < scale && digits[lo] == '0') lo++;
    char *p = out;
    if (neg) *p++ = '-';
    for (int k = nd - 1; k >= scale; k--) *p++ = digits[k];
    if (lo < scale) {
        *p++ = '.';
        for (int k = scale - 1; k >= lo; k--) *p++ = digits[k];
    }
    return (int)(p - out);
}

/* v in decimal (what "%lld" writes), without printf's format parsing. */
static int int_text(char *out, long long v) {
    char digits[24];
    int nd = 0;
    unsigned long long w = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        digits[nd++] = (char)('0' + (int)(w % 10));
        w /= 10;
    } while (w);
    char *p = out;
    if (v < 0) *p++ = '-';
    while (nd) *p++ = digits[--nd];
    return (int)(p - out);
}

/* TransactTime (60), "YYYYMMDD-HH:MM:SS.ffffff", as codec.format_utc_timestamp(ts_us,
 * 6) writes it; the date from the day count by H. Hinnant's civil_from_days. Returns
 * the length written, or -1 outside 1970-01-01 .. 9999-12-31 (the reference then). */
static int timestamp_text(char *out, long long ts_us) {
    if (ts_us < 0 || ts_us > 253402300799999999LL) return -1;
    long long secs = ts_us / 1000000;
    int frac = (int)(ts_us % 1000000);
    long long z = secs / 86400 + 719468;
    int sod = (int)(secs % 86400);
    long long era = z / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned day = doy - (153 * mp + 2) / 5 + 1;
    unsigned month = mp < 10 ? mp + 3 : mp - 9;
    unsigned year = (unsigned)(yoe + era * 400) + (month <= 2);
    unsigned fields[] = {year / 100, year % 100, month, day, (unsigned)sod / 3600,
                         (unsigned)sod / 60 % 60, (unsigned)sod % 60};
    static const char before[] = {0, 0, 0, 0, '-', ':', ':'};
    char *p = out;
    for (int k = 0; k < 7; k++) {
        if (before[k]) *p++ = before[k];
        *p++ = (char)('0' + fields[k] / 10);
        *p++ = (char)('0' + fields[k] % 10);
    }
    *p++ = '.';
    for (int k = 5; k >= 0; k--) {
        p[k] = (char)('0' + frac % 10);
        frac /= 10;
    }
    return (int)(p + 6 - out);
}

/* An int argument as 64 bits. 1 on success, 0 when it does not fit (fall back),
 * -1 on error (not an int). */
static int as_i64(PyObject *obj, long long *out) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (v == -1 && PyErr_Occurred()) return -1;
    if (overflow) return 0;
    *out = v;
    return 1;
}

static int read_grids(PyObject *grids, grid_t *lot, grid_t *tick, grid_t *unit) {
    if (!PyTuple_Check(grids) || PyTuple_GET_SIZE(grids) != 6) {
        PyErr_SetString(PyExc_TypeError, "er_body: grids must be a 6-tuple of ints");
        return -1;
    }
    grid_t *g[3] = {lot, tick, unit};
    for (int k = 0; k < 3; k++) {
        long long mant, scale;
        int ok = as_i64(PyTuple_GET_ITEM(grids, 2 * k), &mant);
        if (ok != 1) return ok;
        ok = as_i64(PyTuple_GET_ITEM(grids, 2 * k + 1), &scale);
        if (ok != 1) return ok;
        if (scale < 0 || scale > MAX_SCALE) return 0;
        g[k]->mant = mant;
        g[k]->scale = (int)scale;
    }
    return 1;
}

/* A str argument's UTF-8 (what str.encode() makes); NULL on error. */
static const char *utf8(PyObject *obj, Py_ssize_t *len) {
    if (!PyUnicode_Check(obj)) {
        PyErr_SetString(PyExc_TypeError, "er_body: str expected");
        return NULL;
    }
    return PyUnicode_AsUTF8AndSize(obj, len);
}

static PyObject *er_body(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != NARGS) {
        PyErr_SetString(PyExc_TypeError, "er_body: 21 positional arguments expected");
        return NULL;
    }
    /* argument positions */
    enum {
        A_ORDER_ID, A_CLORDID, A_ORIG, A_EXEC_ID, A_FIX42, A_EXEC_TYPE, A_ORD_STATUS, A_STATIC,
        A_LIMIT, A_GRIDS, A_QTY, A_PRICE, A_LAST_QTY, A_LAST_PX, A_LEAVES, A_FILLED,
        A_NOTIONAL, A_TS_US, A_COMMISSION, A_LIQUIDITY, A_TEXT
    };
    static const int int_args[] = {A_ORDER_ID, A_QTY,      A_PRICE,      A_LAST_QTY,
                                   A_LAST_PX,  A_LEAVES,   A_FILLED,     A_NOTIONAL,
                                   A_TS_US,    A_COMMISSION, A_LIQUIDITY};
    long long iv[NARGS] = {0};
    for (size_t k = 0; k < sizeof int_args / sizeof int_args[0]; k++) {
        int ok = as_i64(args[int_args[k]], &iv[int_args[k]]);
        if (ok != 1) return ok < 0 ? NULL : Py_NewRef(Py_None);
    }
    static const int bytes_args[] = {A_EXEC_TYPE, A_ORD_STATUS, A_STATIC};
    for (size_t k = 0; k < sizeof bytes_args / sizeof bytes_args[0]; k++) {
        if (!PyBytes_Check(args[bytes_args[k]])) {
            PyErr_SetString(PyExc_TypeError, "er_body: bytes expected");
            return NULL;
        }
    }
    grid_t lot, tick, unit;
    int ok = read_grids(args[A_GRIDS], &lot, &tick, &unit);
    if (ok != 1) return ok < 0 ? NULL : Py_NewRef(Py_None);
    int fix42 = PyObject_IsTrue(args[A_FIX42]);
    int limit = PyObject_IsTrue(args[A_LIMIT]);
    if (fix42 < 0 || limit < 0) return NULL;
    Py_ssize_t clordid_len, orig_len, exec_id_len, text_len;
    const char *clordid = utf8(args[A_CLORDID], &clordid_len);
    const char *orig = clordid ? utf8(args[A_ORIG], &orig_len) : NULL;
    const char *exec_id = orig ? utf8(args[A_EXEC_ID], &exec_id_len) : NULL;
    const char *text = exec_id ? utf8(args[A_TEXT], &text_len) : NULL;
    if (text == NULL) return NULL;

    long long last_qty = iv[A_LAST_QTY], filled = iv[A_FILLED];
    /* AvgPx (6): notional / (filled * lot step) in asset units, exact or not at all */
    i128 avg_units = 0;
    if (filled) {
        i128 pow10 = 1;
        for (int k = 0; k < lot.scale; k++) pow10 *= 10;
        i128 num = (i128)iv[A_NOTIONAL] * pow10;
        i128 den = (i128)lot.mant * filled;
        if (num < 0 || den <= 0) return Py_NewRef(Py_None);
        if (num <= INT64_MAX && den <= INT64_MAX) { /* 64-bit division: no libgcc call */
            long long n64 = (long long)num, d64 = (long long)den;
            if (n64 % d64 != 0) return Py_NewRef(Py_None);
            avg_units = n64 / d64;
        } else {
            if (num % den != 0) return Py_NewRef(Py_None);
            avg_units = num / den;
        }
        if (avg_units >= BIG) return Py_NewRef(Py_None);
    }

    PyObject *exec_type = args[A_EXEC_TYPE], *ord_status = args[A_ORD_STATUS];
    PyObject *static_fields = args[A_STATIC];
    Py_ssize_t cap = FIXED_TEXT + 11 * NUM_TEXT + clordid_len + orig_len + exec_id_len +
                     text_len + PyBytes_GET_SIZE(exec_type) + PyBytes_GET_SIZE(ord_status) +
                     PyBytes_GET_SIZE(static_fields);
    char stack[2048];
    char *buf = cap <= (Py_ssize_t)sizeof stack ? stack : PyMem_Malloc((size_t)cap);
    if (buf == NULL) return PyErr_NoMemory();
    char *p = buf;
    PyObject *result = NULL;
#define PUT(src, n)            \
    do {                       \
        memcpy(p, (src), (n)); \
        p += (n);              \
    } while (0)
#define PUT_LIT(s) PUT(s, sizeof(s) - 1)
#define PUT_BYTES(obj) PUT(PyBytes_AS_STRING(obj), PyBytes_GET_SIZE(obj))
#define PUT_GRID(value, g)                                       \
    do {                                                         \
        int n_ = grid_text(p, (i128)(value) * (g).mant, (g).scale); \
        if (n_ < 0) goto fallback;                               \
        p += n_;                                                 \
    } while (0)
    PUT_LIT("37=");
    p += int_text(p, iv[A_ORDER_ID]);
    PUT_LIT("\00111=");
    PUT(clordid, clordid_len);
    *p++ = SOH;
    if (orig_len) {
        PUT_LIT("41=");
        PUT(orig, orig_len);
        *p++ = SOH;
    }
    PUT_LIT("17=");
    PUT(exec_id, exec_id_len);
    *p++ = SOH;
    if (fix42) PUT_LIT("20=0\001");
    PUT_LIT("150=");
    PUT_BYTES(exec_type);
    PUT_LIT("\00139=");
    PUT_BYTES(ord_status);
    *p++ = SOH;
    PUT_BYTES(static_fields);
    PUT_LIT("38=");
    PUT_GRID(iv[A_QTY], lot);
    *p++ = SOH;
    if (limit) {
        PUT_LIT("44=");
        PUT_GRID(iv[A_PRICE], tick);
        *p++ = SOH;
    }
    if (last_qty) {
        PUT_LIT("32=");
        PUT_GRID(last_qty, lot);
        PUT_LIT("\00131=");
        PUT_GRID(iv[A_LAST_PX], tick);
        *p++ = SOH;
    }
    PUT_LIT("151=");
    PUT_GRID(iv[A_LEAVES], lot);
    PUT_LIT("\00114=");
    PUT_GRID(filled, lot);
    PUT_LIT("\0016=");
    if (filled) {
        int n = grid_text(p, avg_units * unit.mant, unit.scale);
        if (n < 0) goto fallback;
        p += n;
    } else {
        *p++ = '0';
    }
    PUT_LIT("\00160=");
    {
        int n = timestamp_text(p, iv[A_TS_US]);
        if (n < 0) goto fallback;
        p += n;
    }
    *p++ = SOH;
    if (last_qty) {
        PUT_LIT("12=");
        PUT_GRID(iv[A_COMMISSION], unit);
        PUT_LIT("\00113=3\001");
        if (iv[A_LIQUIDITY] && !fix42) {
            PUT_LIT("851=");
            p += int_text(p, iv[A_LIQUIDITY]);
            *p++ = SOH;
        }
    }
    if (text_len) {
        PUT_LIT("58=");
        PUT(text, text_len);
        *p++ = SOH;
    }
#undef PUT_GRID
#undef PUT_BYTES
#undef PUT_LIT
#undef PUT
    result = PyBytes_FromStringAndSize(buf, p - buf);
    goto done;
fallback:
    result = Py_NewRef(Py_None);
done:
    if (buf != stack) PyMem_Free(buf);
    return result;
}

static PyMethodDef methods[] = {
    {"er_body", (PyCFunction)(void (*)(void))er_body, METH_FASTCALL,
     "er_body(order_id, clordid, orig_clordid, exec_id, fix42, exec_type, ord_status, static,"
     " limit, grids, qty, price, last_qty, last_px, leaves, filled, notional, ts_us,"
     " commission, liquidity, text) -> bytes | None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_crender", "The ExecutionReport body in C.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__crender(void) { return PyModule_Create(&module); }
