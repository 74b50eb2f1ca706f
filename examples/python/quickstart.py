from personalize import Engine

with Engine() as engine:
    engine.put_item("blue-train", ["genre=jazz", "era=1950s"])
    engine.put_item("kind-of-blue", ["genre=jazz", "mood=calm"])
    engine.put_item("paranoid", ["genre=rock", "era=1970s"])
    engine.put_item("harvest", ["genre=folk", "mood=calm"])
    engine.track("ann", "blue-train", "purchase")  # personalization: learned
    engine.block("ann", feature="genre=rock")  # customization: chosen
    for rec in engine.recommend("ann", k=3):
        print(f"{rec.item:13} {rec.score:.2f}  {rec.reason.text}")
