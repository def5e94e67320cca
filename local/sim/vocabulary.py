"""The words the catalog generator builds Siesa items from: a Colombian clothing retailer."""

from __future__ import annotations

from dataclasses import dataclass

CATEGORIES: dict[str, str] = {
    "01": "Ropa",
    "02": "Calzado",
    "03": "Accesorios",
    "04": "Ropa Deportiva",
}
"""f_categoria codes as the ERP stores them, and what they mean."""

ADULT_SIZES = ("XS", "S", "M", "L", "XL", "XXL")
CHILD_SIZES = ("2", "4", "6", "8", "10", "12", "14")
SHOE_SIZES = tuple(str(n) for n in range(34, 45))
ONE_SIZE = ("Única",)


@dataclass(frozen=True, slots=True)
class Garment:
    """One kind of article: its name, short name, category code, material, sizes and price band."""

    name: str
    short: str
    category: str
    material: str
    sizes: str  # "adult", "shoe" or "one"
    price_min: int
    price_max: int


GARMENTS: tuple[Garment, ...] = (
    Garment(
        "Camisa Oxford Manga Larga", "Camisa Oxford", "01", "Algodón", "adult", 79_900, 149_900
    ),
    Garment("Camisa de Lino Manga Corta", "Camisa Lino", "01", "Lino", "adult", 89_900, 169_900),
    Garment("Pantalón de Dril", "Pantalón Dril", "01", "Dril", "adult", 89_900, 179_900),
    Garment("Jean Clásico Tiro Medio", "Jean Clásico", "01", "Denim", "adult", 99_900, 199_900),
    Garment(
        "Camiseta Básica Cuello Redondo",
        "Camiseta Básica",
        "01",
        "Algodón",
        "adult",
        29_900,
        59_900,
    ),
    Garment("Blusa Estampada", "Blusa", "01", "Viscosa", "adult", 59_900, 119_900),
    Garment("Vestido Camisero", "Vestido", "01", "Algodón", "adult", 119_900, 249_900),
    Garment("Falda Plisada", "Falda", "01", "Poliéster", "adult", 69_900, 139_900),
    Garment(
        "Chaqueta Impermeable", "Chaqueta Imper.", "01", "Poliéster", "adult", 179_900, 349_900
    ),
    Garment("Suéter de Lana Cuello Alto", "Suéter Lana", "01", "Lana", "adult", 129_900, 229_900),
    Garment("Chaleco Acolchado", "Chaleco", "01", "Nailon", "adult", 139_900, 259_900),
    Garment("Pijama de Franela", "Pijama", "01", "Franela", "adult", 69_900, 129_900),
    Garment("Zapatos de Cuero", "Zapatos Cuero", "02", "Cuero", "shoe", 189_900, 389_900),
    Garment("Botas de Gamuza", "Botas Gamuza", "02", "Gamuza", "shoe", 229_900, 459_900),
    Garment("Tenis Urbanos", "Tenis Urbanos", "02", "Lona", "shoe", 129_900, 259_900),
    Garment("Sandalias de Cuero", "Sandalias", "02", "Cuero", "shoe", 79_900, 159_900),
    Garment("Cinturón de Cuero", "Cinturón", "03", "Cuero", "one", 49_900, 99_900),
    Garment("Gorra Bordada", "Gorra", "03", "Algodón", "one", 39_900, 69_900),
    Garment("Bolso de Mano", "Bolso", "03", "Cuero Sintético", "one", 119_900, 299_900),
    Garment("Bufanda Tejida", "Bufanda", "03", "Acrílico", "one", 39_900, 79_900),
    Garment(
        "Sudadera con Capucha", "Sudadera", "04", "Algodón Perchado", "adult", 109_900, 189_900
    ),
    Garment("Leggings Deportivos", "Leggings", "04", "Licra", "adult", 69_900, 129_900),
    Garment("Medias Deportivas Pack x3", "Medias x3", "04", "Algodón", "one", 24_900, 39_900),
    Garment("Pantaloneta de Running", "Pantaloneta", "04", "Poliéster", "adult", 59_900, 99_900),
)

COLOURS = (
    "Azul",
    "Azul Marino",
    "Negro",
    "Blanco",
    "Café",
    "Gris Jaspe",
    "Rojo",
    "Verde Oliva",
    "Beige",
    "Vinotinto",
    "Rosado",
    "Mostaza",
)

AUDIENCES = ("", "", "Hombre", "Mujer", "Niño", "Niña")
"""Who an article is for; empty means unisex (twice, so it is the most common)."""

ZONES = ("A", "B", "C", "D")
WAREHOUSES = ("BOD-01", "BOD-02")
