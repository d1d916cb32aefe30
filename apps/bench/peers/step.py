"""The book's training iteration (784-50-10 by default, SGD) in numpy or PyTorch, as a
peer for the bench; and, in PyTorch, SimpleConvNet's (7.5: conv 30 5x5, ReLU, max-pool 2,
affine hidden, ReLU, affine 10) with autograd and torch.optim.Adam(lr 0.001), as a PyTorch
user writes it. It is the same work as a @backprop step: draw a mini-batch with
replacement, forward, the loss, backward by the chain rule (no autograd: the same
products as the layers), the SGD update, and the loss read back as a number.

A long-lived process: one JSON command a line on stdin, one JSON answer a line on stdout.
  {"cmd": "setup", "impl": "numpy"|"torch", "dtype": "float32"|"float64", "hidden": 50,
   "batch": 100, "threads": 1|null, "data": "<dir with the MNIST IDX files>",
   "net": "mlp"|"convnet"}
  {"cmd": "run", "iters": 100}   ->  {"ms": <wall time of the iterations>}
"""
import json
import os
import sys
import time

import numpy as np


def read_idx(path):
    with open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(data_dir, dtype):
    x = read_idx(os.path.join(data_dir, "train-images-idx3-ubyte")).reshape(60000, 784).astype(dtype) / 255.0
    t = read_idx(os.path.join(data_dir, "train-labels-idx1-ubyte")).astype(np.int64)
    return x.astype(dtype), t


class NumpyStep:
    def __init__(self, x, t, hidden, batch, dtype):
        rng = np.random.default_rng(0)
        self.x, self.t, self.batch = x, t, batch
        self.W1 = (0.01 * rng.standard_normal((784, hidden))).astype(dtype)
        self.b1 = np.zeros(hidden, dtype)
        self.W2 = (0.01 * rng.standard_normal((hidden, 10))).astype(dtype)
        self.b2 = np.zeros(10, dtype)
        self.rng, self.eye = rng, np.eye(10, dtype=dtype)

    def __call__(self, lr=0.1):
        idx = self.rng.integers(0, 60000, self.batch)
        x, t = self.x[idx], self.eye[self.t[idx]]
        a1 = x @ self.W1 + self.b1
        z1 = np.maximum(a1, 0)
        a2 = z1 @ self.W2 + self.b2
        e = np.exp(a2 - a2.max(axis=1, keepdims=True))
        y = e / e.sum(axis=1, keepdims=True)
        loss = -np.sum(t * np.log(y + 1e-7)) / self.batch
        dy = (y - t) / self.batch
        dW2, db2 = z1.T @ dy, dy.sum(axis=0)
        da1 = (dy @ self.W2.T) * (a1 > 0)
        dW1, db1 = x.T @ da1, da1.sum(axis=0)
        self.W1 -= lr * dW1
        self.b1 -= lr * db1
        self.W2 -= lr * dW2
        self.b2 -= lr * db2
        return float(loss)


class TorchStep:
    def __init__(self, x, t, hidden, batch, dtype):
        import torch
        self.torch = torch
        torch.manual_seed(0)
        tdtype = torch.float32 if dtype == np.float32 else torch.float64
        self.x, self.t, self.batch = torch.from_numpy(x), torch.from_numpy(t), batch
        self.W1 = 0.01 * torch.randn(784, hidden, dtype=tdtype)
        self.b1 = torch.zeros(hidden, dtype=tdtype)
        self.W2 = 0.01 * torch.randn(hidden, 10, dtype=tdtype)
        self.b2 = torch.zeros(10, dtype=tdtype)
        self.eye = torch.eye(10, dtype=tdtype)

    def __call__(self, lr=0.1):
        torch = self.torch
        with torch.no_grad():
            idx = torch.randint(0, 60000, (self.batch,))
            x, t = self.x[idx], self.eye[self.t[idx]]
            a1 = torch.addmm(self.b1, x, self.W1)
            z1 = torch.relu(a1)
            y = torch.softmax(torch.addmm(self.b2, z1, self.W2), dim=1)
            loss = -torch.sum(t * torch.log(y + 1e-7)) / self.batch
            dy = (y - t) / self.batch
            dW2, db2 = z1.T @ dy, dy.sum(dim=0)
            da1 = (dy @ self.W2.T) * (a1 > 0)
            dW1, db1 = x.T @ da1, da1.sum(dim=0)
            self.W1.sub_(lr * dW1)
            self.b1.sub_(lr * db1)
            self.W2.sub_(lr * dW2)
            self.b2.sub_(lr * db2)
            return float(loss)


class TorchConvStep:
    def __init__(self, x, t, hidden, batch, dtype):
        import torch
        import torch.nn.functional as F
        self.torch, self.F = torch, F
        torch.manual_seed(0)
        tdtype = torch.float32 if dtype == np.float32 else torch.float64
        self.x = torch.from_numpy(x).reshape(-1, 1, 28, 28)
        self.t, self.batch = torch.from_numpy(t), batch
        def param(*shape, std=0.01):
            return (std * torch.randn(*shape, dtype=tdtype)).requires_grad_()
        self.W1, self.b1 = param(30, 1, 5, 5), torch.zeros(30, dtype=tdtype, requires_grad=True)
        self.W2 = param(30 * 12 * 12, hidden)
        self.b2 = torch.zeros(hidden, dtype=tdtype, requires_grad=True)
        self.W3, self.b3 = param(hidden, 10), torch.zeros(10, dtype=tdtype, requires_grad=True)
        params = [self.W1, self.b1, self.W2, self.b2, self.W3, self.b3]
        self.optimizer = torch.optim.Adam(params, lr=0.001)

    def __call__(self):
        torch, F = self.torch, self.F
        idx = torch.randint(0, 60000, (self.batch,))
        x, t = self.x[idx], self.t[idx]
        c = F.relu(F.conv2d(x, self.W1, self.b1))
        p = F.max_pool2d(c, 2, 2).reshape(self.batch, -1)
        h = F.relu(p @ self.W2 + self.b2)
        loss = F.cross_entropy(h @ self.W3 + self.b3, t)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return float(loss)


def main():
    step = None
    data = {}
    for line in sys.stdin:
        command = json.loads(line)
        if command["cmd"] == "setup":
            dtype = np.float32 if command["dtype"] == "float32" else np.float64
            key = (command["data"], command["dtype"])
            if key not in data:
                data[key] = load(command["data"], dtype)
            x, t = data[key]
            info = {"numpy": np.__version__, "python": sys.version.split()[0]}
            if command["impl"] == "torch":
                import torch
                if command.get("threads"):
                    torch.set_num_threads(command["threads"])
                info.update(torch=torch.__version__, threads=torch.get_num_threads())
                Step = TorchConvStep if command.get("net") == "convnet" else TorchStep
                step = Step(x, t, command["hidden"], command["batch"], dtype)
            else:
                step = NumpyStep(x, t, command["hidden"], command["batch"], dtype)
            print(json.dumps({"ok": True, **info}), flush=True)
        elif command["cmd"] == "run":
            start = time.perf_counter()
            for _ in range(command["iters"]):
                step()
            print(json.dumps({"ms": (time.perf_counter() - start) * 1000}), flush=True)


if __name__ == "__main__":
    main()
