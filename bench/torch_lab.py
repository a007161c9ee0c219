"""The lab's models in PyTorch (CPU), on the same IDX files convlab and Keras read.

Same architecture, Keras's initialisation (Glorot-uniform kernels, zero biases) and optimiser
settings (Adam, learning rate 0.001, epsilon 1e-7), batch size and shuffling every epoch. Prints
one JSON line in keras_lab.py's format. Used by scripts/bench-cpu.sh for the side-by-side table.
"""
import time

from keras_lab import CONV_FILTERS, parse_args, read_idx, report


def model_for(preset, nn):
    stack, channels, side = [], 1, 28
    for filters in CONV_FILTERS[preset]:
        stack += [nn.Conv2d(channels, filters, 3), nn.ReLU(), nn.MaxPool2d(2)]
        channels, side = filters, (side - 2) // 2
    stack += [nn.Flatten(), nn.Linear(channels * side * side, 128), nn.ReLU(), nn.Linear(128, 10)]
    model = nn.Sequential(*stack)
    for layer in model:
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return model


def main():
    args = parse_args()

    import torch
    from torch import nn

    torch.manual_seed(42)
    x = torch.tensor(read_idx(f"{args.data}/train-images-idx3-ubyte.gz")[: args.limit] / 255.0)
    y = torch.tensor(read_idx(f"{args.data}/train-labels-idx1-ubyte.gz")[: args.limit]).long()
    xt = torch.tensor(read_idx(f"{args.data}/t10k-images-idx3-ubyte.gz") / 255.0)
    yt = torch.tensor(read_idx(f"{args.data}/t10k-labels-idx1-ubyte.gz")).long()
    x, xt = x[:, None].float(), xt[:, None].float()

    model = model_for(args.preset, nn)
    # The softmax of Keras's last layer is inside the loss (log-softmax + NLL).
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001, eps=1e-7)
    times = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        order = torch.randperm(len(x))
        for batch in order.split(args.batch_size):
            optimizer.zero_grad()
            loss_fn(model(x[batch]), y[batch]).backward()
            optimizer.step()
        times.append(time.perf_counter() - start)

    model.eval()
    with torch.no_grad():
        logits = model(xt)
        loss = loss_fn(logits, yt).item()
        acc = (logits.argmax(1) == yt).float().mean().item()
    report(args, f"pytorch {torch.__version__}", times, len(x), acc, loss, torch.get_num_threads())


if __name__ == "__main__":
    main()
