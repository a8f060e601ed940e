using System.Buffers.Binary;
using System.IO.Compression;
using ExpRunner.Config;
using ExpRunner.Data;
using ExpRunner.Tests.Support;

namespace ExpRunner.Tests.Data;

public class IdxTests
{
    [Fact]
    public void The_real_fashion_mnist_files_read_with_the_official_counts_and_balanced_labels()
    {
        var splits = DatasetLoader.Load(new FashionMnistConfig { Path = Repo.Data("fashion-mnist") }, 1);
        Assert.Equal(60000, splits.Train.Count);
        Assert.Equal(10000, splits.Test.Count);
        Assert.Equal(784, splits.Features);
        Assert.Equal(28, splits.Train.Data.ImageWidth);
        Assert.All(Enumerable.Range(0, 10), k => Assert.Equal(6000, splits.Train.Data.Labels.Count(l => l == k)));
        Assert.Equal("Ankle boot", splits.Train.Data.ClassNames[splits.Train.Data.Labels[0]]); // the first training image is an ankle boot
        Assert.Equal(4, splits.Fingerprint.Sha256.Count);
        Assert.All(splits.Fingerprint.Sha256.Values, h => Assert.Equal(64, h.Length));
        Assert.Equal("debian:dataset-fashion-mnist", splits.Fingerprint.Source);
    }

    [Fact]
    public void Validation_split_takes_the_last_part_of_the_training_set()
    {
        var splits = DatasetLoader.Load(new FashionMnistConfig { Path = Repo.Data("fashion-mnist"), ValidationSplit = 0.1 }, 1);
        Assert.Equal(54000, splits.Train.Count);
        Assert.Equal(6000, splits.Validation!.Count);
        Assert.Equal(54000, splits.Validation.Indices[0]);
    }

    [Fact]
    public void The_mnist_files_from_make_data_hold_real_digits()
    {
        var splits = DatasetLoader.Load(new MnistConfig { Path = Repo.Data("mnist") }, 1);
        Assert.True(splits.Train.Count is 8000 or 60000, $"train count {splits.Train.Count}");
        Assert.True(splits.Test.Count is 2000 or 10000, $"test count {splits.Test.Count}");
        Assert.Equal(10, splits.Train.Data.Labels.Distinct().Count());
    }

    private static void WriteImages(string path, int magic, int count, int rows, int cols, int bodyBytes)
    {
        var bytes = new byte[16 + bodyBytes];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), cols);
        File.WriteAllBytes(path, bytes);
    }

    [Fact]
    public void A_bad_magic_number_is_named()
    {
        using var dir = new TempDir();
        WriteImages(dir.File("x"), 0x0801, 1, 2, 2, 4);
        var e = Assert.Throws<DataException>(() => Idx.ReadImages(dir.File("x")));
        Assert.Contains("magic 0x00000801", e.Message);
        Assert.Contains("expected 0x00000803", e.Message);
    }

    [Fact]
    public void A_truncated_file_is_reported_as_truncated()
    {
        using var dir = new TempDir();
        WriteImages(dir.File("x"), 0x0803, 10, 28, 28, 784 * 3);
        var e = Assert.Throws<DataException>(() => Idx.ReadImages(dir.File("x")));
        Assert.Contains("header says 10 images", e.Message);
        Assert.Contains("truncated", e.Message);
        File.WriteAllBytes(dir.File("h"), [0, 0, 8]);
        Assert.Contains("truncated header", Assert.Throws<DataException>(() => Idx.ReadImages(dir.File("h"))).Message);
    }

    [Fact]
    public void Images_and_labels_with_different_counts_are_refused()
    {
        using var dir = new TempDir();
        Idx.WriteImages(dir.File("train-images-idx3-ubyte"), new byte[3 * 4], 3, 2, 2);
        Idx.WriteLabels(dir.File("train-labels-idx1-ubyte"), [1, 2]);
        Idx.WriteImages(dir.File("t10k-images-idx3-ubyte.gz"), new byte[4], 1, 2, 2);
        Idx.WriteLabels(dir.File("t10k-labels-idx1-ubyte.gz"), [1]);
        var e = Assert.Throws<DataException>(() => DatasetLoader.Load(new MnistConfig { Path = dir.Path }, 1));
        Assert.Contains("2 labels for 3 images", e.Message);
    }

    [Fact]
    public void Raw_and_gzip_files_round_trip()
    {
        using var dir = new TempDir();
        byte[] pixels = Enumerable.Range(0, 2 * 3 * 3).Select(i => (byte)(i * 10)).ToArray();
        Idx.WriteImages(dir.File("a.gz"), pixels, 2, 3, 3);
        Idx.WriteImages(dir.File("a"), pixels, 2, 3, 3);
        Assert.Equal(pixels, Idx.ReadImages(dir.File("a.gz")).Pixels);
        Assert.Equal(pixels, Idx.ReadImages(dir.File("a")).Pixels);
        using (var gz = new GZipStream(File.OpenRead(dir.File("a.gz")), CompressionMode.Decompress)) Assert.Equal(0, gz.ReadByte());
    }

    [Fact]
    public void Missing_files_name_the_expected_files_and_make_data()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<DataException>(() => DatasetLoader.Load(new MnistConfig { Path = dir.Path }, 1));
        Assert.Contains("train-images-idx3-ubyte", e.Message);
        Assert.Contains("t10k-labels-idx1-ubyte", e.Message);
        Assert.Contains("make data", e.Message);
    }
}
