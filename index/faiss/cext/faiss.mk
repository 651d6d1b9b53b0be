# faiss.mk: FAISS 1.7.3 (Debian bookworm) with its C API and vigil's C API
# extension (index/faiss/cext), merged into one static library for cgo users
# of github.com/blevesearch/go-faiss.
#
# Included by the top-level Makefile, which sets:
#   BUILD      absolute build dir; everything here is written under $(BUILD)/faiss
#   SIMD       generic | avx2 | avx512 (what the FAISS objects are compiled for)
#   APT_STAMP  file target that installs libfaiss-dev libopenblas-dev dpkg-dev
#              g++ and enables bookworm deb-src
#   CEXT_DIR   absolute path of index/faiss/cext
# and gets:
#   FAISS_LIB          $(BUILD)/faiss/$(SIMD)/lib/libfaiss_c.a
#   FAISS_INC          overlay include dir: faiss/c_api/... and vigil_faiss.h
#   FAISS_CGO_CFLAGS   for CGO_CFLAGS
#   FAISS_CGO_LDFLAGS  for CGO_LDFLAGS
#   faiss              phony target building FAISS_LIB and FAISS_INC
#
# Why it is built this way:
# - Debian ships FAISS only as a C++ library, without the C API go-faiss
#   needs, and go-faiss also needs functions and headers that no FAISS 1.7.3
#   C API has. So the C API is compiled from the Debian source package
#   (fetched once with `apt-get source`, for the exact installed version) and
#   cext/ adds the rest.
# - Debian's libfaiss.a is compiled for baseline x86-64. For SIMD=generic its
#   objects are used as they are; for avx2/avx512 the same sources are
#   recompiled with the flags FAISS 1.7.3's own CMake uses for its faiss_avx2
#   target (in 1.7.3 the vector code is selected by __AVX2__ etc. in the
#   sources; there are no separate *_avx2 files or defines).
# - The C API and extension objects do not depend on SIMD and are shared by
#   all levels; each level has its own object dir and archive, so switching
#   SIMD never mixes objects.
# - vigil_faiss_simd.o is compiled with baseline flags: it records the level
#   and refuses to start on a CPU that cannot run the objects.

ifeq ($(filter $(SIMD),generic avx2 avx512),)
$(error faiss.mk: SIMD must be generic, avx2 or avx512, not "$(SIMD)")
endif

FAISS_ROOT      := $(BUILD)/faiss
FAISS_TREE      := $(FAISS_ROOT)/src/faiss
FAISS_SRC_STAMP := $(FAISS_ROOT)/src/.unpacked
FAISS_INC       := $(FAISS_ROOT)/include
FAISS_INC_STAMP := $(FAISS_INC)/.upstream-headers
FAISS_LEVEL     := $(FAISS_ROOT)/$(SIMD)
FAISS_LIB       := $(FAISS_LEVEL)/lib/libfaiss_c.a

FAISS_CGO_CFLAGS  := -I$(FAISS_INC)
FAISS_CGO_LDFLAGS := -L$(FAISS_LEVEL)/lib -lfaiss_c -lopenblas -lgomp -lstdc++ -lm

# From libfaiss-dev; its source package is what gets fetched.
FAISS_DEB_LIB ?= /usr/lib/x86_64-linux-gnu/libfaiss.a

# The sources of the 80 objects of Debian's libfaiss.a (checked after the
# fetch), i.e. faiss/**/*.cpp without gpu/ and python/.
FAISS_CORE_SRCS := \
  $(addprefix faiss/,$(addsuffix .cpp, \
    AutoTune Clustering IVFlib Index Index2Layer IndexAdditiveQuantizer \
    IndexAdditiveQuantizerFastScan IndexBinary IndexBinaryFlat \
    IndexBinaryFromFloat IndexBinaryHNSW IndexBinaryHash IndexBinaryIVF \
    IndexFastScan IndexFlat IndexFlatCodes IndexHNSW IndexIDMap IndexIVF \
    IndexIVFAdditiveQuantizer IndexIVFAdditiveQuantizerFastScan \
    IndexIVFFastScan IndexIVFFlat IndexIVFPQ IndexIVFPQFastScan IndexIVFPQR \
    IndexIVFSpectralHash IndexLSH IndexLattice IndexNNDescent IndexNSG \
    IndexPQ IndexPQFastScan IndexPreTransform IndexRefine IndexReplicas \
    IndexRowwiseMinMax IndexScalarQuantizer IndexShards MatrixStats \
    MetaIndexes VectorTransform clone_index index_factory)) \
  $(addprefix faiss/impl/,$(addsuffix .cpp, \
    AdditiveQuantizer AuxIndexStructures FaissException HNSW IDSelector \
    LocalSearchQuantizer NNDescent NSG PolysemousTraining \
    ProductAdditiveQuantizer ProductQuantizer ResidualQuantizer \
    ScalarQuantizer index_read index_write io kmeans1d lattice_Zn \
    pq4_fast_scan pq4_fast_scan_search_1 pq4_fast_scan_search_qbs)) \
  $(addprefix faiss/invlists/,$(addsuffix .cpp, \
    BlockInvertedLists DirectMap InvertedLists InvertedListsIOHook \
    OnDiskInvertedLists)) \
  $(addprefix faiss/utils/,$(addsuffix .cpp, \
    Heap WorkerThread distances distances_simd extra_distances hamming \
    partitioning quantize_lut random utils))

FAISS_CAPI_SRCS := $(addprefix c_api/,$(addsuffix .cpp, \
  AutoTune_c Clustering_c IndexBinary_c IndexFlat_c IndexIVFFlat_c IndexIVF_c \
  IndexLSH_c IndexPreTransform_c IndexReplicas_c IndexScalarQuantizer_c \
  IndexShards_c Index_c MetaIndexes_c VectorTransform_c clone_index_c \
  error_impl impl/AuxIndexStructures_c index_factory_c index_io_c \
  utils/distances_c))

CEXT_SRCS := $(notdir $(wildcard $(CEXT_DIR)/src/*.cpp))
CEXT_HDRS := $(patsubst $(CEXT_DIR)/include/%,%,$(wildcard \
  $(CEXT_DIR)/include/*.h \
  $(CEXT_DIR)/include/faiss/c_api/*.h \
  $(CEXT_DIR)/include/faiss/c_api/impl/*.h))

FAISS_CORE_OBJS := $(patsubst faiss/%.cpp,$(FAISS_LEVEL)/obj/%.o,$(FAISS_CORE_SRCS))
FAISS_CAPI_OBJS := $(patsubst c_api/%.cpp,$(FAISS_ROOT)/obj/capi/%.o,$(FAISS_CAPI_SRCS))
FAISS_CEXT_OBJS := $(patsubst %.cpp,$(FAISS_ROOT)/obj/cext/%.o,$(CEXT_SRCS))
FAISS_SIMD_OBJ  := $(FAISS_LEVEL)/vigil_faiss_simd.o
FAISS_HEADERS   := $(FAISS_INC_STAMP) $(addprefix $(FAISS_INC)/,$(CEXT_HDRS))

# Flags of FAISS 1.7.3's CMake (CMAKE_CXX_STANDARD 11, FINTEGER=int, OpenMP,
# PIC; faiss_avx2 adds -mavx2 -mfma -mf16c -mpopcnt). 1.7.3 has no AVX-512
# code of its own; that level adds AVX-512 for the compiler's vectoriser.
FAISS_SIMD_FLAGS_generic :=
FAISS_SIMD_FLAGS_avx2    := -mavx2 -mfma -mf16c -mpopcnt
FAISS_SIMD_FLAGS_avx512  := $(FAISS_SIMD_FLAGS_avx2) \
  -mavx512f -mavx512cd -mavx512vl -mavx512dq -mavx512bw
# -DNDEBUG also stops the C API from printing every error to stderr.
FAISS_CORE_CXXFLAGS := -std=c++11 -O3 -fPIC -fopenmp -DNDEBUG -DFINTEGER=int \
  $(FAISS_SIMD_FLAGS_$(SIMD)) -I$(FAISS_TREE) -MMD -MP
FAISS_CAPI_CXXFLAGS := -std=c++11 -O2 -fPIC -fopenmp -DNDEBUG -I$(FAISS_TREE) -MMD -MP
FAISS_CEXT_CXXFLAGS := -std=c++17 -O2 -fPIC -fopenmp -DNDEBUG -Wall \
  -I$(FAISS_INC) -I$(FAISS_TREE) -MMD -MP

# V=1 shows the compiler command lines.
FAISS_Q := $(if $(filter 1,$(V)),,@)

.PHONY: faiss
faiss: $(FAISS_LIB) $(FAISS_HEADERS)

# --- source -----------------------------------------------------------------
# The version of the installed libfaiss-dev, so headers, the C API and (for
# generic) Debian's objects all come from the same source. APT_STAMP is
# order-only: refreshing apt must not refetch and rebuild everything.
$(FAISS_SRC_STAMP): | $(APT_STAMP)
	rm -rf $(FAISS_ROOT)/src
	mkdir -p $(FAISS_ROOT)/src
	cd $(FAISS_ROOT)/src && \
	  ver=$$(dpkg-query -W -f='$${source:Version}' libfaiss-dev) && \
	  apt-get source --download-only faiss=$$ver && \
	  dpkg-source -x faiss_*.dsc faiss
	@printf '%s\n' $(patsubst %.cpp,%.cpp.o,$(notdir $(FAISS_CORE_SRCS))) | sort \
	  > $(FAISS_ROOT)/src/objects.expected
	@$(AR) t $(FAISS_DEB_LIB) | sort > $(FAISS_ROOT)/src/objects.debian
	@cmp -s $(FAISS_ROOT)/src/objects.expected $(FAISS_ROOT)/src/objects.debian || { \
	  echo "faiss.mk: FAISS_CORE_SRCS no longer matches $(FAISS_DEB_LIB):"; \
	  diff $(FAISS_ROOT)/src/objects.expected $(FAISS_ROOT)/src/objects.debian; \
	  exit 1; }
	touch $@

# Sources exist once the package is unpacked (no recipe: nothing to redo).
$(addprefix $(FAISS_TREE)/,$(FAISS_CORE_SRCS) $(FAISS_CAPI_SRCS)): | $(FAISS_SRC_STAMP) ;

# Only for the generic archive; installed by APT_STAMP.
$(FAISS_DEB_LIB): | $(APT_STAMP) ;

# --- overlay include dir ------------------------------------------------------
# Upstream C API headers, plus ours. AuxIndexStructures_c.h is regenerated with
# an #include of our AuxIndexStructures_c_ex.h appended: go-faiss includes the
# upstream name for FaissSearchParameters, FaissIDSelectorNot and co., and that
# header (unlike Index_c.h) can include ours without a cycle.
$(FAISS_INC_STAMP): $(FAISS_SRC_STAMP)
	mkdir -p $(FAISS_INC)/faiss/c_api/impl $(FAISS_INC)/faiss/c_api/utils
	cp $(FAISS_TREE)/c_api/*.h $(FAISS_INC)/faiss/c_api/
	cp $(FAISS_TREE)/c_api/utils/*.h $(FAISS_INC)/faiss/c_api/utils/
	{ cat $(FAISS_TREE)/c_api/impl/AuxIndexStructures_c.h && \
	  printf '\n/* Added by faiss.mk: vigil C API extension. */\n#include "AuxIndexStructures_c_ex.h"\n'; \
	} > $(FAISS_INC)/faiss/c_api/impl/AuxIndexStructures_c.h.tmp
	mv -f $(FAISS_INC)/faiss/c_api/impl/AuxIndexStructures_c.h.tmp \
	  $(FAISS_INC)/faiss/c_api/impl/AuxIndexStructures_c.h
	touch $@

$(addprefix $(FAISS_INC)/,$(CEXT_HDRS)): $(FAISS_INC)/%: $(CEXT_DIR)/include/% | $(FAISS_INC_STAMP)
	install -D -m 644 $< $@

# --- objects --------------------------------------------------------------------
$(FAISS_LEVEL)/obj/%.o: $(FAISS_TREE)/faiss/%.cpp
	@mkdir -p $(@D)
	@echo "  CXX [$(SIMD)] faiss/$*.cpp"
	$(FAISS_Q)$(CXX) $(FAISS_CORE_CXXFLAGS) -c $< -o $@

$(FAISS_ROOT)/obj/capi/%.o: $(FAISS_TREE)/c_api/%.cpp
	@mkdir -p $(@D)
	@echo "  CXX c_api/$*.cpp"
	$(FAISS_Q)$(CXX) $(FAISS_CAPI_CXXFLAGS) -c $< -o $@

$(FAISS_ROOT)/obj/cext/%.o: $(CEXT_DIR)/src/%.cpp $(FAISS_HEADERS)
	@mkdir -p $(@D)
	@echo "  CXX cext/src/$*.cpp"
	$(FAISS_Q)$(CXX) $(FAISS_CEXT_CXXFLAGS) -c $< -o $@

# Baseline flags on purpose (see the top of this file).
$(FAISS_SIMD_OBJ): $(CEXT_DIR)/src/vigil_faiss_simd.c $(FAISS_INC)/vigil_faiss.h
	@mkdir -p $(@D)
	@echo "  CC  [$(SIMD)] cext/src/vigil_faiss_simd.c"
	$(FAISS_Q)$(CC) -O2 -fPIC -Wall -I$(FAISS_INC) -DVIGIL_FAISS_SIMD='"$(SIMD)"' \
	  -MMD -MP -c $< -o $@

-include $(patsubst %.o,%.d,$(FAISS_CORE_OBJS) $(FAISS_CAPI_OBJS) $(FAISS_CEXT_OBJS) $(FAISS_SIMD_OBJ))

# --- archive --------------------------------------------------------------------
# generic: Debian's archive plus our objects; otherwise only our objects.
FAISS_LIB_OBJS := $(FAISS_CAPI_OBJS) $(FAISS_CEXT_OBJS) $(FAISS_SIMD_OBJ)
ifeq ($(SIMD),generic)
FAISS_LIB_BASE := $(FAISS_DEB_LIB)
else
FAISS_LIB_OBJS += $(FAISS_CORE_OBJS)
FAISS_LIB_BASE :=
endif

$(FAISS_LIB): $(FAISS_LIB_OBJS) $(FAISS_LIB_BASE)
	@mkdir -p $(@D)
	@echo "  AR  $@"
	$(FAISS_Q)rm -f $@.tmp
	$(if $(FAISS_LIB_BASE),$(FAISS_Q)cp $(FAISS_LIB_BASE) $@.tmp && chmod u+w $@.tmp)
	$(FAISS_Q)$(AR) rcs $@.tmp $(FAISS_LIB_OBJS)
	$(FAISS_Q)mv -f $@.tmp $@
