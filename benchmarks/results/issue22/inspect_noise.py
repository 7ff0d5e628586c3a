# Issue 22: G_ema of `benchmarks/stylegan_quality.py --dataset fashion --kimg 4 --save-g /tmp/sg/fashion_G4.pt`
# sampled with the per-pixel noise constant / off / random: class accuracy and high-frequency energy per mode.
import sys, torch
sys.path.insert(0, '/work/wt/sg/benchmarks')
from pathlib import Path
from ganfactory.operators.stylegan.config import StyleGANConfig
from ganfactory.operators.stylegan.models import preset_for
from ganfactory.operators.stylegan.presets import build_generator
from ganfactory.operators.stylegan.sampling import z_batch
from ganfactory.output.images import save_grid
from ganfactory.metrics.classifier import train_classifier, score_classifier
from stylegan_suite_data import LOADERS
torch.set_num_threads(1)
p = preset_for(StyleGANConfig(resolution=32, cfg='small', batch_size=8), device_type='cpu')
G = build_generator(p, num_classes=10, img_channels=1)
G.load_state_dict(torch.load('/tmp/sg/fashion_G4.pt'))
G.eval()
print('noise strengths', [round(float(m.noise_strength), 3) for m in G.modules() if hasattr(m, 'noise_strength')])
split = LOADERS['fashion']()
clf = train_classifier(split[0], split[1], num_classes=10, epochs=15, seed=0)
z = z_batch(list(range(10000, 10032)), G.z_dim, torch.device('cpu'))
lap = torch.tensor([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=torch.float32)[None, None]
real = split[0].float() / 127.5 - 1
print('real high-freq', float(torch.nn.functional.conv2d(real, lap).abs().mean()))
for mode in ('const', 'none', 'random'):
    with torch.no_grad():
        x = torch.cat([G(z, torch.full((32,), k), noise_mode=mode).float() for k in range(10)]).clamp(-1, 1)
    y = torch.arange(10).repeat_interleave(32)
    acc = score_classifier(clf, x, y, split[4]).accuracy
    hf = float(torch.nn.functional.conv2d(x, lap).abs().mean())
    print(mode, 'acc', round(acc, 3), 'high-freq', round(hf, 4))
    idx = torch.cat([torch.arange(k * 32, k * 32 + 6) for k in range(10)])
    save_grid(x[idx], Path(f'/tmp/sg/fashion_G4_noise_{mode}.png'), columns=6)
