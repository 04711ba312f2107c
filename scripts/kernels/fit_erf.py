import numpy as np, math, mpmath
mpmath.mp.dps=30
C = 3.925
xs = np.linspace(1e-4, C, 40000)
f = np.array([math.erf(x) for x in xs])
t = xs * xs
def evalf32(p,q):
    x32 = np.linspace(0, 5, 400001).astype(np.float32)
    xc = np.minimum(x32, np.float32(C)); tt = xc*xc
    P = np.float32(p[-1])
    for c in p[-2::-1]: P = np.float32(P*tt + np.float32(c))
    Q = np.float32(q[-1])
    for c in q[-2::-1]: Q = np.float32(Q*tt + np.float32(c))
    a = (xc*P/Q).astype(np.float32)
    a = np.minimum(a, np.float32(1))
    ref = np.array([math.erf(float(x)) for x in x32])
    d = np.abs(a.astype(np.float64)-ref)
    ulp = d / np.spacing(np.maximum(np.abs(ref),1e-30).astype(np.float32)).astype(np.float64)
    return d.max(), ulp.max()
def fit(np_, nq, iters=300):
    qprev = np.ones_like(xs); lw = np.ones_like(xs); best=None
    for it in range(iters):
        A = np.hstack([np.stack([xs * t**i for i in range(np_+1)],1), np.stack([-f * t**j for j in range(1,nq+1)],1)])
        wt = np.sqrt(lw) / (qprev * np.maximum(f, 1e-3)**0)  # abs err
        wt = wt / np.maximum(f,0.05)  # relative near 0
        sol, *_ = np.linalg.lstsq(A * wt[:,None], f * wt, rcond=None)
        p = sol[:np_+1]; q = np.concatenate([[1.0], sol[np_+1:]])
        P = np.polyval(p[::-1], t); Q = np.polyval(q[::-1], t)
        err = np.abs(xs*P/Q - f) / np.maximum(f,0.05)
        qprev = Q
        lw = lw * err; lw /= lw.sum()
        m = err.max()
        if best is None or m < best[0]: best=(m,p.copy(),q.copy())
    return best
for np_, nq in [(5,5),(6,5),(7,4),(6,6),(7,5)]:
    m,p,q = fit(np_,nq)
    print(np_, nq, "fit64 %.3g  f32 abs %.3g ulp %.2f"%((m,)+evalf32(p,q)))
    print("  p", [float(v) for v in p]); print("  q", [float(v) for v in q])
