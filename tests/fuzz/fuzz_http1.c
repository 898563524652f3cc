/* fuzz_http1: libFuzzer target for the HTTP/1.x response parser (http1_resp_parse and
 * http1_resp_eof in src/http1.c), chunked bodies included.
 *
 * Input: byte 0 holds flags (bit 0: the request was HEAD; bits 1-7 seed the random piece
 * sizes), byte 1 picks where the "split in two" mode cuts, and the rest is the byte stream a
 * server sent: any number of responses back to back. The stream is fed whole (with and without
 * the whole-head fast path), split in two, in random pieces and, when short, byte by byte; all
 * must agree exactly (see http1_driver.h for the invariants). */
#include "http1_driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return -1; /* not even the two option bytes: nothing to learn, keep it out of the corpus */
    bool head = data[0] & 1;
    uint32_t seed = (uint32_t)(data[0] >> 1) << 8 | data[1];
    drv_all(data + 2, size - 2, head, 0, data[1], seed);
    return 0;
}
