namespace ExpRunner.Data;

/// <summary>Bad or missing data input; the message says which file and what is wrong.</summary>
public sealed class DataException(string message) : Exception(message);
