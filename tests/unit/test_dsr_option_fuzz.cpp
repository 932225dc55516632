// Randomized robustness of nfdsr_opt4_find / nfdsr_ip4_opt_remove over 1e5
// random option areas. Built with ASan + UBSan: any out-of-bounds read or
// write, or undefined arithmetic, fails the test.
#include <nfdsr/dsr_option.h>

#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <random>

namespace {

bool header_checksum_ok(const __u8* hdr)
{
    return nfdsr_csum_fold(nfdsr_csum_words(hdr, (hdr[0] & 0x0f) * 4u, 0)) == 0xffff;
}

}  // namespace

TEST_CASE("random option areas: find stays in bounds, remove keeps a valid header")
{
    std::mt19937_64 rng(0x6e666473);
    std::size_t found = 0, absent = 0, malformed = 0, bad_length = 0;
    for (int iter = 0; iter < 100000; ++iter) {
        const unsigned opt_len = 4 * static_cast<unsigned>(rng() % 11);  // 0..40
        const unsigned hdr_len = NFDSR_IP4_BASE_HDR + opt_len;
        const unsigned payload = static_cast<unsigned>(rng() % 32);
        // Exactly sized heap buffer: ASan flags any access past hdr_len + payload.
        auto pkt = std::make_unique<__u8[]>(hdr_len + payload);
        for (unsigned i = 0; i < hdr_len + payload; ++i)
            pkt[i] = static_cast<__u8>(rng());
        // Bias towards interesting option bytes: our type, NOP, END, lengths.
        for (unsigned i = NFDSR_IP4_BASE_HDR; i < hdr_len; ++i) {
            switch (rng() % 8) {
            case 0: pkt[i] = NFDSR_OPT4_TYPE; break;
            case 1: pkt[i] = NFDSR_OPT4_LEN; break;
            case 2: pkt[i] = 1; break;
            case 3: pkt[i] = static_cast<__u8>(rng() % 12); break;
            default: break;
            }
        }
        pkt[0] = static_cast<__u8>(0x40 | (hdr_len / 4));
        nfdsr_ip4_set_tot_len(pkt.get(), hdr_len + payload);

        // The options area alone, also exactly sized.
        auto opts = std::make_unique<__u8[]>(opt_len ? opt_len : 1);
        std::memcpy(opts.get(), pkt.get() + NFDSR_IP4_BASE_HDR, opt_len);
        unsigned off = 0xdead;
        const int r = nfdsr_opt4_find(opts.get(), opt_len, &off);
        switch (r) {
        case NFDSR_OPT_ABSENT: ++absent; break;
        case NFDSR_OPT_MALFORMED: ++malformed; break;
        case NFDSR_OPT_BAD_LENGTH: ++bad_length; break;
        case NFDSR_OPT_FOUND: {
            ++found;
            REQUIRE(off + NFDSR_OPT4_LEN <= opt_len);
            REQUIRE(opts[off] == NFDSR_OPT4_TYPE);
            REQUIRE(opts[off + 1] == NFDSR_OPT4_LEN);
            __u8 before[8];
            std::memcpy(before, pkt.get() + NFDSR_IP4_BASE_HDR + off, 8);
            __u8* nh = nfdsr_ip4_opt_remove(pkt.get(), off);
            REQUIRE((nh[0] & 0x0f) * 4u == hdr_len - NFDSR_OPT4_LEN);
            REQUIRE(nfdsr_ip4_tot_len(nh) == hdr_len + payload - NFDSR_OPT4_LEN);
            REQUIRE(header_checksum_ok(nh));
            // Re-inserting puts an equivalent option first.
            __be32 vip;
            __be16 vport;
            nfdsr_opt4_decode(before, &vip, &vport);
            nfdsr_ip4_opt_insert(pkt.get(), vip, vport);
            REQUIRE(header_checksum_ok(pkt.get()));
            REQUIRE(std::memcmp(pkt.get() + NFDSR_IP4_BASE_HDR, before, 8) == 0);
            break;
        }
        default: FAIL("unexpected result " << r);
        }
    }
    MESSAGE("found " << found << ", absent " << absent << ", malformed " << malformed << ", bad length " << bad_length);
    CHECK(found > 1000);
    CHECK(malformed > 1000);
    CHECK(bad_length > 1000);
}
